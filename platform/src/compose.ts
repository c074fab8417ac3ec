// Composition of every platform subgraph into the supergraph (used by `npm run compose` and its test).
import path from 'node:path';

import { composeServices } from '@apollo/composition';
import { mergeModules } from '@g3d/kit';

import { subgraphDefinitions } from './services.ts';

export const SUPERGRAPH_FILE = path.resolve(import.meta.dirname, '../../schema/supergraph.graphql');

export type Composition = { ok: true; sdl: string } | { ok: false; errors: string[] };

/** Every subgraph of the manifest, its SDL from its modules, at its default local URL. */
export async function composeSupergraph(): Promise<Composition> {
  const subgraphs = await subgraphDefinitions();
  const result = composeServices(
    subgraphs.map(({ declaration, definition }) => {
      const schema = definition.schema(declaration);
      return {
        name: declaration.name,
        typeDefs: mergeModules(schema.name, schema.modules).typeDefs,
        url: `http://127.0.0.1:${declaration.defaultPort}/graphql`,
      };
    }),
  );
  if (result.errors) {
    return {
      ok: false,
      errors: result.errors.map((e) => `[${(e.extensions?.code as string | undefined) ?? 'ERROR'}] ${e.message}`),
    };
  }
  return { ok: true, sdl: `${result.supergraphSdl.trimEnd()}\n` };
}
