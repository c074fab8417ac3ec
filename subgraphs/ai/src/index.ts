// The AI wrapper subgraphs: one package builds any of the 16 from its manifest entry.
import { createSubgraph, defineService, subgraphDeps } from '@g3d/kit';
import type { ServiceDeclaration } from '@g3d/manifest';

import { wrapperSchema } from './wrapper.ts';

export { wrapperSchema, wrapperSdl } from './wrapper.ts';

function facts(declaration: ServiceDeclaration) {
  if (!declaration.ai) throw new Error(`${declaration.name} is not an AI service`);
  return declaration.ai;
}

export const service = defineService({
  schema: (declaration) => wrapperSchema(facts(declaration)),
  build: (context) =>
    createSubgraph(
      { ...wrapperSchema(facts(context.declaration)), createContext: (base) => base },
      subgraphDeps(context, { database: false }),
    ),
});
