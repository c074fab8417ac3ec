// `npm run compose`: composes every subgraph's SDL into schema/supergraph.graphql with @apollo/composition.
// `--check` fails when the committed supergraph is stale (CI). The URLs are the default local ports; the
// gateway overrides them at run time (SUBGRAPH_URLS, or the all-in-one process's actual ports).
import fs from 'node:fs';
import path from 'node:path';

import { composeServices } from '@apollo/composition';
import { PLATFORM_SUBGRAPHS } from '@g3d/platform';

const target = path.resolve(import.meta.dirname, '../schema/supergraph.graphql');
const check = process.argv.includes('--check');

const result = composeServices(
  PLATFORM_SUBGRAPHS.map((s) => ({
    name: s.name,
    typeDefs: s.typeDefs,
    url: `http://127.0.0.1:${s.defaultPort}/graphql`,
  })),
);
if (result.errors) {
  process.stderr.write(`Composition failed with ${result.errors.length} error(s):\n`);
  for (const error of result.errors) {
    const code = (error.extensions?.code as string | undefined) ?? 'ERROR';
    process.stderr.write(`  [${code}] ${error.message}\n`);
  }
  process.exit(1);
}
const sdl = `${result.supergraphSdl.trimEnd()}\n`;
if (check) {
  const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
  if (current !== sdl) {
    process.stderr.write('schema/supergraph.graphql is stale: run `npm run compose` and commit it.\n');
    process.exit(1);
  }
  process.stdout.write('schema/supergraph.graphql is up to date.\n');
} else {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, sdl);
  process.stdout.write(`Composed ${PLATFORM_SUBGRAPHS.length} subgraphs into schema/supergraph.graphql\n`);
}
