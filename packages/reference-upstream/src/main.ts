// Runs the reference upstream alone: `npm start -w @g3d/reference-upstream` (REFERENCE_UPSTREAM_PORT, HOST).
// `npm start` of the platform runs it in its own process beside the wrappers instead.
import { runMain } from '@g3d/config';

import { loadReferenceUpstreamConfig } from './config.ts';
import { createReferenceUpstream } from './server.ts';

await runMain(async () => {
  const config = loadReferenceUpstreamConfig();
  const upstream = createReferenceUpstream({ onError: (error, where) => console.error(where, error) });
  const { url } = await upstream.listen(config.HOST, config.REFERENCE_UPSTREAM_PORT);
  console.log(`reference upstream listening on ${url} (POST /{service}/v1/{operation}, GET /{service}/health)`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => void upstream.close().then(() => process.exit(0)));
  }
});
