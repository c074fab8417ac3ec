// `npm run compose`: writes the generated artefacts of the service manifest — schema/supergraph.graphql (every
// subgraph's SDL composed with @apollo/composition) and docker-compose.yml. `--check` fails when a committed
// one is stale (CI). The supergraph's URLs are the default local ports; the gateway overrides them at run time
// (SUBGRAPH_URLS, or the all-in-one process's actual ports).
import fs from 'node:fs';
import path from 'node:path';

import { SUBGRAPHS } from '@g3d/manifest';
import { composeSupergraph, DOCKER_COMPOSE_FILE, dockerComposeYaml, SUPERGRAPH_FILE } from '@g3d/platform';

const check = process.argv.includes('--check');
const result = await composeSupergraph();
if (!result.ok) {
  process.stderr.write(`Composition failed with ${result.errors.length} error(s):\n`);
  for (const error of result.errors) process.stderr.write(`  ${error}\n`);
  process.exit(1);
}
const artefacts = [
  { file: SUPERGRAPH_FILE, content: result.sdl },
  { file: DOCKER_COMPOSE_FILE, content: dockerComposeYaml() },
];
let stale = false;
for (const { file, content } of artefacts) {
  const name = path.relative(process.cwd(), file);
  if (check) {
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (current !== content) {
      process.stderr.write(`${name} is stale: run \`npm run compose\` and commit it.\n`);
      stale = true;
    } else process.stdout.write(`${name} is up to date.\n`);
  } else {
    fs.writeFileSync(file, content);
    process.stdout.write(`Wrote ${name} (${SUBGRAPHS.length} subgraphs)\n`);
  }
}
if (stale) process.exit(1);
