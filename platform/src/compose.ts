// Composition of every platform subgraph into the supergraph (used by `npm run compose` and its test).
import path from 'node:path';

import { composeServices } from '@apollo/composition';

import { PLATFORM_SUBGRAPHS } from './catalog.ts';

export const SUPERGRAPH_FILE = path.resolve(import.meta.dirname, '../../schema/supergraph.graphql');

export type Composition = { ok: true; sdl: string } | { ok: false; errors: string[] };

export function composeSupergraph(): Composition {
  const result = composeServices(
    PLATFORM_SUBGRAPHS.map((s) => ({
      name: s.name,
      typeDefs: s.typeDefs,
      url: `http://127.0.0.1:${s.defaultPort}/graphql`,
    })),
  );
  if (result.errors) {
    return {
      ok: false,
      errors: result.errors.map((e) => `[${(e.extensions?.code as string | undefined) ?? 'ERROR'}] ${e.message}`),
    };
  }
  return { ok: true, sdl: `${result.supergraphSdl.trimEnd()}\n` };
}
