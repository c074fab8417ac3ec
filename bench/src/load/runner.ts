// The load generator, run as a child process so that it never shares an event loop (or a core) with the
// servers under test. Receives one LoadJob over IPC, runs an optional warm-up then the measurement with
// autocannon, checks every response, and sends the stats back. Fresh headers (a renewed gateway token) may
// arrive over IPC during a run.
import autocannon from 'autocannon';

import type { ChildMessage, ErrorCounts, LoadJob, LoadStats, ParentMessage } from './protocol.ts';

const SAMPLE_LIMIT = 3;
const SAMPLE_CHARS = 300;

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error('runner.ts must be started with an IPC channel'));
    process.send(message, (error: Error | null) => (error ? reject(error) : resolve()));
  });
}

let currentHeaders: Record<string, string> = {};
const liveClients = new Set<autocannon.Client>();

/** A GraphQL body without `errors` and with a non-empty string at data.<path>. */
function hasStringField(body: string, path: string[]): boolean {
  let value: unknown;
  try {
    value = JSON.parse(body) as unknown;
  } catch {
    return false;
  }
  if (typeof value !== 'object' || value === null || 'errors' in value) return false;
  for (const key of ['data', ...path]) {
    if (typeof value !== 'object' || value === null) return false;
    value = (value as Record<string, unknown>)[key];
  }
  return typeof value === 'string' && value.length > 0;
}

async function runOnce(job: LoadJob, durationS: number): Promise<LoadStats> {
  const counts = { graphqlErrors: 0, mismatches: 0 };
  const samples: string[] = [];
  const sample = (what: string, status: number, body: string) => {
    if (samples.length < SAMPLE_LIMIT) samples.push(`${what} (HTTP ${status}): ${body.slice(0, SAMPLE_CHARS)}`);
  };
  const check = job.check;
  const graphql = check.kind !== 'exact';
  const onResponse = (status: number, body: string) => {
    if (status < 200 || status > 299) return sample('non-2xx', status, body); // autocannon counts these
    if (check.kind === 'graphql-field' ? hasStringField(body, check.path) : body === check.body) return;
    if (graphql && body.includes('"errors"')) {
      counts.graphqlErrors++;
      sample('GraphQL errors', status, body);
    } else {
      counts.mismatches++;
      sample('unexpected body', status, body);
    }
  };
  const result = await autocannon({
    url: job.url,
    method: job.method,
    headers: currentHeaders,
    ...(job.body === undefined ? {} : { body: job.body }),
    connections: job.connections,
    duration: durationS,
    timeout: job.timeoutS,
    pipelining: 1,
    // One request shape; onResponse sees every response's status and body.
    requests: [{ onResponse }],
    setupClient: (client) => {
      liveClients.add(client);
      (client as NodeJS.EventEmitter).on('done', () => liveClients.delete(client));
    },
  });
  const non2xx = result.non2xx;
  const errors: ErrorCounts = {
    non2xx,
    graphqlErrors: counts.graphqlErrors,
    mismatches: counts.mismatches,
    connection: result.errors,
    timeouts: result.timeouts,
    total: non2xx + counts.graphqlErrors + counts.mismatches + result.errors,
  };
  const requests = result.requests.total;
  return {
    requests,
    durationS: result.duration,
    rps: result.duration > 0 ? requests / result.duration : 0,
    latency: {
      mean: result.latency.average,
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    throughputBytesPerS: result.throughput.average,
    errors,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, stat.count ?? 0]),
    ),
    samples,
  };
}

async function run(job: LoadJob): Promise<void> {
  currentHeaders = job.headers;
  const warmup = job.warmupS > 0 ? await runOnce(job, job.warmupS) : null;
  await send({ type: 'measuring' });
  const measured = await runOnce(job, job.durationS);
  await send({ type: 'result', warmup, measured });
}

process.on('message', (message: ParentMessage) => {
  if (message.type === 'headers') {
    currentHeaders = message.headers;
    for (const client of liveClients) client.setHeaders(message.headers);
    return;
  }
  run(message.job)
    .catch((error: unknown) => send({ type: 'error', message: (error as Error).stack ?? String(error) }))
    .finally(() => process.disconnect?.());
});

await send({ type: 'ready' });
