// `npm run compose`: composes every subgraph's SDL into schema/supergraph.graphql with @apollo/composition.
// `--check` fails when the committed supergraph is stale (CI). The URLs are the default local ports; the
// gateway overrides them at run time (SUBGRAPH_URLS, or the all-in-one process's actual ports).
import fs from 'node:fs';

import { SUBGRAPHS } from '@g3d/manifest';
import { composeSupergraph, SUPERGRAPH_FILE } from '@g3d/platform';

const check = process.argv.includes('--check');
const result = await composeSupergraph();
if (!result.ok) {
  process.stderr.write(`Composition failed with ${result.errors.length} error(s):\n`);
  for (const error of result.errors) process.stderr.write(`  ${error}\n`);
  process.exit(1);
}
if (check) {
  const current = fs.existsSync(SUPERGRAPH_FILE) ? fs.readFileSync(SUPERGRAPH_FILE, 'utf8') : '';
  if (current !== result.sdl) {
    process.stderr.write('schema/supergraph.graphql is stale: run `npm run compose` and commit it.\n');
    process.exit(1);
  }
  process.stdout.write('schema/supergraph.graphql is up to date.\n');
} else {
  fs.writeFileSync(SUPERGRAPH_FILE, result.sdl);
  process.stdout.write(`Composed ${SUBGRAPHS.length} subgraphs into schema/supergraph.graphql\n`);
}
