// Exactness across replicas: two processes, each a gateway with its own video-ai wrapper, sharing Redis and
// PostgreSQL with the test platform. 1,000 concurrent invocations split between them against a quota of 500:
// exactly 500 answered, 500 QUOTA_EXCEEDED, 1,000 ledger rows; the same against a rate limit. Runs only with
// DATABASE_URL and REDIS_URL (the in-process store is one process's: see subgraphs/entitlement/test/metering.test.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

import { childEnv, testConfig } from '@g3d/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { gql, login, startTestPlatform, type TestPlatform, usageConsumed } from './helpers.ts';

const CHILD = path.resolve(import.meta.dirname, 'fixtures/replica-child.ts');
const shared = Boolean(testConfig.DATABASE_URL && testConfig.REDIS_URL);

let platform: TestPlatform;
let token: string;
let organizationId: string;
const replicas: { proc: ChildProcess; url: string }[] = [];

async function startReplica(): Promise<{ proc: ChildProcess; url: string }> {
  const { 'ai-video-ai': _own, ...others } = platform.subgraphUrls;
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: childEnv({
      REPLICA_DATABASE_URL: platform.databaseUrl,
      REPLICA_REDIS_URL: testConfig.REDIS_URL as string,
      REPLICA_PREFIX: platform.storePrefix,
      REPLICA_DATA_DIR: platform.dataDir,
      REPLICA_SUBGRAPHS: JSON.stringify(others),
      REPLICA_UPSTREAM_URL: platform.referenceUpstreamUrl as string,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 120_000;
  while (!/ready (\S+)/.test(stdout)) {
    if (proc.exitCode !== null || Date.now() > deadline)
      throw new Error(`replica did not start: ${stderr.slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { proc, url: /ready (\S+)/.exec(stdout)?.[1] as string };
}

beforeAll(async () => {
  if (!shared) return;
  platform = await startTestPlatform({}, { eventPollIntervalMs: 50 });
  token = await login(platform.gatewayUrl);
  const me = await gql<{ me: { organizations: { id: string }[] } }>(
    platform.gatewayUrl,
    '{ me { organizations { id } } }',
    {
      token,
    },
  );
  organizationId = me.data?.me.organizations[0]?.id as string;
  replicas.push(...(await Promise.all([startReplica(), startReplica()])));
  // Each replica's gateway fetches identity's keys once: before the bursts, which measure exactness, not a cold start.
  for (const { url } of replicas) {
    const warm = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(warm.status).toBe(200);
  }
}, 300_000);

afterAll(async () => {
  for (const { proc } of replicas) {
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  }
  await platform?.close();
});

async function setVideoLimits(limits: { requests: number | null; rateLimitPer15Min: number }) {
  const result = await gql(
    platform.gatewayUrl,
    `mutation($o: ID!, $r: Int, $rate: Int) {
      assignPlan(organizationId: $o, planId: "professional") { status }
      setEntitlementOverrides(organizationId: $o, input: { services: [{ service: "video-ai", requests: $r, rateLimitPer15Min: $rate }] }) { seats }
    }`,
    { token, variables: { o: organizationId, r: limits.requests, rate: limits.rateLimitPer15Min } },
  );
  expect(result.errors).toBeUndefined();
}

/** 1,000 invocations at once, alternating between the two replicas' gateways; outcomes by code. */
async function burst(): Promise<Record<string, number>> {
  const results = await Promise.all(
    Array.from({ length: 1000 }, async (_, i) => {
      const { url } = replicas[i % 2] as { url: string };
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ videoAi { slug } }' }),
      });
      const body = (await response.json()) as {
        data?: unknown;
        errors?: { message: string; extensions?: { code?: string } }[];
      };
      const error = body.errors?.[0];
      if (!error) return 'OK';
      const { code = 'no code', dependency } = (error.extensions ?? {}) as { code?: string; dependency?: string };
      // The expected refusals by code; anything else with its message, so that a failure says what happened.
      if (code === 'QUOTA_EXCEEDED' || code === 'RATE_LIMITED') return code;
      return `${code}: ${error.message}${dependency ? ` (${dependency})` : ''}`;
    }),
  );
  const counts: Record<string, number> = {};
  for (const code of results) counts[code] = (counts[code] ?? 0) + 1;
  return counts;
}

async function ledger(): Promise<Record<string, number>> {
  await usageConsumed(platform, 20_000);
  const { rows } = await platform.db!.pool.query<{ status: string; n: number }>(
    `SELECT status, count(*)::int AS n FROM entitlement.usage_records
     WHERE organization_id = $1 AND service = 'video-ai' GROUP BY status`,
    [organizationId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

describe.runIf(shared)('two gateway + wrapper replicas sharing Redis', () => {
  it('1,000 concurrent invocations against a quota of 500, then a rate limit: exact, and 1,000 ledger rows each', async () => {
    // Both bursts must fall in one 15-minute rate window (windows are aligned to the clock).
    const left = 900_000 - (Date.now() % 900_000);
    if (left < 150_000) await new Promise((resolve) => setTimeout(resolve, left + 50));

    await setVideoLimits({ requests: 500, rateLimitPer15Min: 1_000_000 });
    expect(await burst()).toEqual({ OK: 500, QUOTA_EXCEEDED: 500 });
    expect(await ledger()).toEqual({ ALLOWED: 500, QUOTA_EXCEEDED: 500 });

    // The caller has 500 allowed in this window already: a limit of 1,000 leaves exactly 500.
    await setVideoLimits({ requests: null, rateLimitPer15Min: 1000 });
    expect(await burst()).toEqual({ OK: 500, RATE_LIMITED: 500 });
    expect(await ledger()).toEqual({ ALLOWED: 1000, QUOTA_EXCEEDED: 500, RATE_LIMITED: 500 });
    // Two bursts of 1,000 through two replicas take ~10 s each alone, several times that beside other test files.
  }, 300_000);
});
