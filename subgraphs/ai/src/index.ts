// The AI wrapper subgraphs: one package builds any of the 16 from its manifest entry. Every invocation goes
// through the entitlement decision and is metered (invocation.ts).
import { createSubgraph, defineService, subgraphDeps } from '@g3d/kit';
import type { ServiceDeclaration } from '@g3d/manifest';

import { createAiContext, createAiRuntime, entitlementExtensions } from './invocation.ts';
import { wrapperSchema } from './wrapper.ts';

export { type AiContext, createAiRuntime } from './invocation.ts';
export { wrapperSchema, wrapperSdl } from './wrapper.ts';

function facts(declaration: ServiceDeclaration) {
  if (!declaration.ai) throw new Error(`${declaration.name} is not an AI service`);
  return declaration.ai;
}

export const service = defineService({
  schema: (declaration) => wrapperSchema(facts(declaration)),
  build(context) {
    // The database only for the event log (usage records): the wrappers own no schema.
    const runtime = createAiRuntime({ store: context.store, db: context.database() });
    return createSubgraph(
      {
        ...wrapperSchema(facts(context.declaration)),
        createContext: (base) => createAiContext(base, runtime),
        plugins: [entitlementExtensions()],
      },
      subgraphDeps(context, { database: true }),
    );
  },
});
