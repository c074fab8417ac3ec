// Login: the price of a password check. `argon2-raw` measures the bare argon2id verify rate in this process (the
// servers' process) with the platform's own parameters and code (identity's passwords.ts), `login-direct` the
// login mutation straight at the identity subgraph (with a gateway token, as the gateway would send it) and
// `login` the same through the gateway. Both logins are printed as a ratio of the raw rate: the endpoint should
// cost little beyond the hash itself (measured, no target: gateway overhead belongs to the gateway speed work).
//
// Concurrency: @node-rs/argon2 hashes on the libuv threadpool (4 threads by default, on a 2-core box), so the
// raw rate is measured with as many verifies in flight as the login scenarios have connections
// (config.loginConcurrency: BENCH_CONNECTIONS capped at 16); both queue the same number of hashes.
import { performance } from 'node:perf_hooks';

import { ANONYMOUS } from '@g3d/auth';

// Identity's own hashing code and parameters (argon2id, m=19456 KiB, t=2, p=1); passwords.ts is not exported
// from @g3d/identity, hence the path.
import { ARGON2_PARAMS, hashPassword, verifyPassword } from '../../../subgraphs/identity/src/modules/auth/passwords.ts';
import { type ServerUsage, startUsage } from '../load/http-load.ts';
import type { ErrorCounts } from '../load/protocol.ts';
import { BENCH_ADMIN, type BenchPlatform, callerFromAccessToken } from '../platform.ts';
import type { BenchContext, Measurement, Scenario } from '../scenario.ts';
import { expectGraphQLData, type HttpTarget, measureHttp } from './http.ts';

export const LOGIN_MUTATION = 'mutation($input: LoginInput!) { login(input: $input) { accessToken } }';
const ARGON2_RAW = 'argon2-raw';

interface VerifyRun {
  /** Verifies completed inside the window. */
  operations: number;
  failures: number;
  /** Milliseconds per verify, queueing on the threadpool included (like a login's). */
  latencies: number[];
  server: ServerUsage;
}

/**
 * `concurrency` verifies in flight for `durationS`: each worker starts the next verify as soon as its last one
 * is done. Verifies that end after the window are not counted (and are awaited, so they do not spill into the
 * next measurement).
 */
async function verifyFor(passwordHash: string, concurrency: number, durationS: number): Promise<VerifyRun> {
  const usage = startUsage();
  const end = performance.now() + durationS * 1000;
  let server: ServerUsage | null = null;
  const window = setTimeout(() => (server = usage()), durationS * 1000);
  const run: Omit<VerifyRun, 'server'> = { operations: 0, failures: 0, latencies: [] };
  const worker = async () => {
    while (performance.now() < end) {
      const started = performance.now();
      const ok = await verifyPassword(passwordHash, BENCH_ADMIN.password);
      const done = performance.now();
      if (done > end) return;
      run.operations++;
      run.latencies.push(done - started);
      if (!ok) run.failures++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  clearTimeout(window);
  return { ...run, server: server ?? usage() };
}

/**
 * Waits (at most `maxMs`) until this process's event loop is nearly idle: the servers may still be working off
 * the previous scenario's backlog (its queued requests outlive the load generator), which would compete with
 * the hashes for the cores.
 */
async function settle(maxMs: number): Promise<boolean> {
  const until = performance.now() + maxMs;
  while (performance.now() < until) {
    const before = performance.eventLoopUtilization();
    await new Promise((resolve) => setTimeout(resolve, 250));
    if (performance.eventLoopUtilization(before).utilization < 0.05) return true;
  }
  return false;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const value = sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return Math.round(value * 10) / 10;
}

const verifyErrors = (mismatches: number): ErrorCounts => ({
  non2xx: 0,
  graphqlErrors: 0,
  mismatches,
  connection: 0,
  timeouts: 0,
  total: mismatches,
});

export const argon2Raw: Scenario = {
  name: ARGON2_RAW,
  title: 'argon2id verify, identity params, in the server process (the login ceiling)',
  needsPlatform: false,
  async run(ctx: BenchContext): Promise<Measurement> {
    const { config } = ctx;
    const concurrency = config.loginConcurrency;
    // A hash of the bench admin's password made like the platform makes them (identity's hashPassword).
    const passwordHash = await hashPassword(BENCH_ADMIN.password);
    if (!(await verifyPassword(passwordHash, BENCH_ADMIN.password))) throw new Error('argon2 verify failed');
    ctx.log(
      `  ${concurrency} verifies in flight on the libuv threadpool (${config.threadpoolSize} threads), ` +
        `argon2id m=${ARGON2_PARAMS.memoryCost} KiB t=${ARGON2_PARAMS.timeCost} p=${ARGON2_PARAMS.parallelism}`,
    );
    if (!(await settle(10_000))) ctx.log('  WARNING: the servers are still busy with the previous scenario');
    const warmup = config.warmupS > 0 ? await verifyFor(passwordHash, concurrency, config.warmupS) : null;
    const measured = await verifyFor(passwordHash, concurrency, config.durationS);
    const sorted = [...measured.latencies].sort((a, b) => a - b);
    const mean = sorted.reduce((sum, ms) => sum + ms, 0) / Math.max(1, sorted.length);
    return {
      rps: measured.operations / config.durationS,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      operations: measured.operations,
      durationS: config.durationS,
      cpuMsPerOp: measured.operations > 0 ? measured.server.cpuMs / measured.operations : null,
      // A verify that answers false is a mismatch (verifyPassword never throws).
      errors: verifyErrors(measured.failures),
      details: {
        concurrency,
        threadpoolSize: config.threadpoolSize,
        argon2: { ...ARGON2_PARAMS, algorithm: 'argon2id' },
        latency: { mean, p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), p99: percentile(sorted, 0.99) },
        server: {
          ...measured.server,
          cpuCores: measured.server.wallMs > 0 ? measured.server.cpuMs / measured.server.wallMs : 0,
        },
        warmup: warmup ? { operations: warmup.operations, rps: warmup.operations / config.warmupS } : null,
      },
    };
  },
};

/** Checks the hand-verified login: a token for the bench admin. */
function expectAdminToken(platform: BenchPlatform, status: number, text: string) {
  const data = expectGraphQLData(status, text) as { login?: { accessToken?: unknown } | null };
  const token = data.login?.accessToken;
  if (typeof token !== 'string' || !token) throw new Error(`login returned no access token: ${text.slice(0, 300)}`);
  if (callerFromAccessToken(token).userId !== platform.caller.userId) throw new Error('token is not the admin');
}

/** Every request a successful login of the bench admin; each response must carry data.login.accessToken. */
function loginTarget(
  ctx: BenchContext,
  platform: BenchPlatform,
  target: Pick<HttpTarget, 'url' | 'headers' | 'refreshHeaders'>,
): HttpTarget {
  return {
    ...target,
    method: 'POST',
    body: JSON.stringify({
      query: LOGIN_MUTATION,
      variables: { input: { email: BENCH_ADMIN.email, password: BENCH_ADMIN.password } },
    }),
    kind: 'graphql',
    expectField: ['login', 'accessToken'],
    connections: ctx.config.loginConcurrency,
    validate: (status, text) => expectAdminToken(platform, status, text),
  };
}

export const loginDirect: Scenario = {
  name: 'login-direct',
  title: 'login straight to the identity subgraph (gateway token, anonymous caller)',
  relativeTo: ARGON2_RAW,
  needsPlatform: true,
  async run(ctx) {
    const platform = await ctx.platform();
    const url = platform.subgraphUrls.identity;
    if (!url) throw new Error('no identity subgraph');
    // What the gateway forwards for a login: nobody signed in yet, and the client it saw (the same loopback
    // address as the gateway scenario, so the per-IP throttle does the same work).
    const headers = () =>
      platform.subgraphHeaders('identity', {
        caller: ANONYMOUS,
        client: { ip: '127.0.0.1', userAgent: 'g3d-bench' },
      });
    return measureHttp(ctx, loginTarget(ctx, platform, { url, headers: await headers(), refreshHeaders: headers }));
  },
};

export const loginGateway: Scenario = {
  name: 'login',
  title: 'login through the gateway: mutation login { accessToken }',
  relativeTo: ARGON2_RAW,
  needsPlatform: true,
  async run(ctx) {
    const platform = await ctx.platform();
    return measureHttp(
      ctx,
      loginTarget(ctx, platform, { url: platform.gatewayUrl, headers: { 'content-type': 'application/json' } }),
    );
  },
};
