// Upstream faults through the gateway, with a controllable upstream in place of the reference one (secure-ai
// and data-forge point at it): an upstream slower than the service's timeout answers SERVICE_UNAVAILABLE within
// the timeout + ε and is not retried; 5xx is retried per the registry (here 2) then refused; consecutive failed
// calls open the circuit (fast refusals, no upstream request) and a trial after the cool-down closes it again;
// cancelling a job aborts its upstream request; a restart mid-job hands the job to the next runner.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { assignPlan, gql, login, startTestPlatform, type TestPlatform } from './helpers.ts';

type Mode = 'ok' | 'slow' | 'fail' | 'hang';
let mode: Mode = 'ok';
const hits: string[] = [];
let aborted = 0;
let inFlight = 0;
let upstream: http.Server;
let upstreamUrl: string;
let platform: TestPlatform;
let token: string;
let organizationId: string;

const SCAN_RESULT = { findings: [], counts: { secret: 0, pii: 0, injection: 0 }, riskScore: 0, riskLevel: 'NONE' };
const PROFILE_RESULT = { rowCount: 0, columnCount: 0, delimiter: ',', columns: [], correlations: [], warnings: [] };

function answer(res: http.ServerResponse, status: number, body: unknown) {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    if (req.method === 'GET') {
      answer(res, 200, { status: 'ok' });
      return;
    }
    hits.push(req.url ?? '');
    inFlight += 1;
    let done = false;
    res.on('close', () => {
      inFlight -= 1;
      if (!res.writableFinished && !done) aborted += 1;
    });
    req.resume();
    req.on('end', () => {
      const result = req.url?.includes('profileDataset') ? PROFILE_RESULT : SCAN_RESULT;
      if (mode === 'ok') answer(res, 200, result);
      else if (mode === 'fail') answer(res, 500, { error: { code: 'INTERNAL', message: 'model crashed' } });
      else if (mode === 'slow') setTimeout(() => answer(res, 200, result), 3_000).unref();
      // 'hang': never answers; only the caller closing ends it.
      done = mode !== 'hang';
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  platform = await startTestPlatform(settings(), { eventPollIntervalMs: 50 });
  token = await login(platform.gatewayUrl);
  organizationId = await currentOrganization();
  await assignPlan(platform.gatewayUrl, organizationId, 'professional');
}, 180_000);

afterAll(async () => {
  await platform?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

function settings(): Record<string, string> {
  return {
    AI_SECURE_AI_UPSTREAM_URL: `${upstreamUrl}/secure-ai`,
    AI_SECURE_AI_TIMEOUT_SECONDS: '0.5',
    AI_SECURE_AI_RETRIES: '2',
    AI_DATA_FORGE_UPSTREAM_URL: `${upstreamUrl}/data-forge`,
    // Nothing listens there: an upstream that is down.
    AI_VISION_PRO_UPSTREAM_URL: 'http://127.0.0.1:9/vision-pro',
    AI_CIRCUIT_FAILURES: '3',
    AI_CIRCUIT_COOLDOWN_SECONDS: '1',
  };
}

async function currentOrganization(): Promise<string> {
  const me = await gql<{ me: { organizations: { id: string }[] } }>(
    platform.gatewayUrl,
    '{ me { organizations { id } } }',
    {
      token,
    },
  );
  return me.data?.me.organizations[0]?.id as string;
}

const call = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}) =>
  gql<T>(platform.gatewayUrl, query, { token, variables });
const SCAN = 'mutation { scanContent(input: { text: "hello" }) { riskLevel } }';
const code = (r: { errors?: { extensions?: Record<string, unknown> }[] }) => r.errors?.[0]?.extensions;
const circuit = async () =>
  (await call<{ secureAi: { serviceStatus: { circuit: string } } }>('{ secureAi { serviceStatus { circuit } } }')).data
    ?.secureAi.serviceStatus.circuit;

async function until(check: () => boolean | Promise<boolean>, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Closes the circuit again: after its cool-down one successful trial call. */
async function healthy() {
  mode = 'ok';
  await until(async () => (await call(SCAN)).errors === undefined);
}

describe('an upstream that misbehaves', () => {
  it('readiness reports the upstream (without leaving rotation for it) and serviceStatus shows it', async () => {
    const readyz = async (service: string) => {
      const response = await fetch(new URL('/readyz', platform.subgraphUrls[service]));
      return { status: response.status, body: (await response.json()) as { checks: Record<string, string> } };
    };
    expect(await readyz('ai-secure-ai')).toMatchObject({ status: 200, body: { checks: { upstream: 'ok' } } });
    // Every replica shares the upstream: failing readiness for it would take them all out; the wrapper still answers.
    expect(await readyz('ai-vision-pro')).toMatchObject({ status: 200, body: { checks: { upstream: 'unreachable' } } });
    const status = await call<{ visionPro: { serviceStatus: { health: string } } }>(
      '{ visionPro { serviceStatus { health circuit } } }',
    );
    expect(status.data?.visionPro.serviceStatus).toEqual({ health: 'UNREACHABLE', circuit: 'CLOSED' });
    const refused = await call('mutation { analyzeImage(input: { image: { base64: "AA==" } }) { width } }');
    expect(code(refused)).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'UPSTREAM_ERROR' });
  });

  it('slower than the timeout: SERVICE_UNAVAILABLE within timeout + ε, not retried', async () => {
    mode = 'slow';
    hits.length = 0;
    const started = Date.now();
    const result = await call(SCAN);
    const took = Date.now() - started;
    expect(code(result)).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'TIMEOUT' });
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(500 + 1_500);
    expect(hits).toHaveLength(1);
    await healthy();
  });

  it('5xx: retried per the registry (2 retries here), then SERVICE_UNAVAILABLE; the failure is metered', async () => {
    mode = 'fail';
    hits.length = 0;
    const result = await call(SCAN);
    expect(code(result)).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'UPSTREAM_ERROR' });
    expect(hits).toHaveLength(3);
    await until(async () => {
      const { rows } = await platform.db!.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM entitlement.usage_records WHERE service = 'secure-ai' AND NOT succeeded`,
      );
      return (rows[0]?.n ?? 0) >= 1;
    });
    await healthy();
  });

  it('consecutive failures open the circuit: fast refusals without upstream calls; a trial after the cool-down closes it', async () => {
    mode = 'fail';
    for (let i = 0; i < 3; i += 1) await call(SCAN);
    expect(await circuit()).toBe('OPEN');
    hits.length = 0;
    const started = Date.now();
    const refused = await call(SCAN);
    expect(code(refused)).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'CIRCUIT_OPEN' });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(hits).toHaveLength(0);
    // After the cool-down (1 s) one trial goes through; it succeeds and the circuit closes.
    mode = 'ok';
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await call(SCAN)).errors).toBeUndefined();
    expect(hits).toHaveLength(1);
    expect(await circuit()).toBe('CLOSED');
  });

  it('cancelling a running job aborts its upstream request', async () => {
    mode = 'hang';
    aborted = 0;
    const started = await call<{ profileDataset: { id: string } }>(
      'mutation { profileDataset(input: { csv: "a\\n1\\n" }) { id } }',
    );
    const id = started.data?.profileDataset.id as string;
    await until(() => inFlight > 0);
    const cancelled = await call<{ cancelDataForgeJob: { status: string } }>(
      'mutation($id: ID!) { cancelDataForgeJob(id: $id) { status } }',
      { id },
    );
    expect(cancelled.errors).toBeUndefined();
    await until(() => aborted === 1, 5_000);
    await until(async () => {
      const job = await call<{ dataForgeJob: { status: string } }>(
        'query($id: ID!) { dataForgeJob(id: $id) { status } }',
        {
          id,
        },
      );
      return job.data?.dataForgeJob.status === 'CANCELLED';
    });
    mode = 'ok';
  });

  it('a restart mid-job: the next runner resumes the job, which succeeds', async () => {
    mode = 'hang';
    const started = await call<{ profileDataset: { id: string } }>(
      'mutation { profileDataset(input: { csv: "a\\n1\\n" }) { id } }',
    );
    const id = started.data?.profileDataset.id as string;
    await until(() => inFlight > 0);
    const reuse = { database: platform.database, dataDir: platform.dataDir, storePrefix: platform.storePrefix };
    await platform.stop();
    mode = 'ok';
    platform = await startTestPlatform(settings(), { eventPollIntervalMs: 50, reuse });
    token = await login(platform.gatewayUrl);
    let job: { status: string; attempts: number } | undefined;
    await until(async () => {
      job = (
        await call<{ dataForgeJob: { status: string; attempts: number } }>(
          'query($id: ID!) { dataForgeJob(id: $id) { status attempts } }',
          { id },
        )
      ).data?.dataForgeJob;
      return job?.status === 'SUCCEEDED';
    }, 30_000);
    expect(job?.attempts).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
