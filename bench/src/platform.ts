// The platform under test, booted in this process: gateway + every subgraph on random loopback ports against a
// fresh database (@g3d/testkit: PGlite in memory unless DATABASE_URL, the in-process store unless REDIS_URL).
// Adapted from platform/test/helpers.ts (not imported: test helpers are not a library).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  type Caller,
  GATEWAY_TOKEN_HEADER,
  loadOrCreateSigningKey,
  signGatewayToken,
  type SigningKey,
} from '@g3d/auth';
import { createLogger } from '@g3d/kit';
import { loadPlatformConfig, RANDOM_PORTS_ENV, type RunningPlatform, startPlatform } from '@g3d/platform';
import { createEmptyDatabase, testConfig, type TestDatabase, testStorePrefix } from '@g3d/testkit';

export const BENCH_ADMIN = { email: 'bench-admin@bench.example', password: 'bench password, loopback only' };

export interface BenchPlatform {
  gatewayUrl: string;
  subgraphUrls: Record<string, string>;
  dataDir: string;
  database: { kind: TestDatabase['kind'] };
  store: 'redis' | 'memory';
  /** The seeded admin's access token (Bearer, for the gateway). */
  accessToken: string;
  /** The admin as a subgraph sees it behind the gateway. */
  caller: Caller;
  /** Headers a subgraph accepts: a fresh gateway token (60 s lifetime) for `subgraph`. */
  subgraphHeaders(subgraph: string): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export async function startBenchPlatform(): Promise<BenchPlatform> {
  const database = await createEmptyDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-bench-'));
  let platform: RunningPlatform | null = null;
  const close = async () => {
    await platform?.stop();
    await database.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const config = loadPlatformConfig({
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      ...(testConfig.REDIS_URL ? { REDIS_URL: testConfig.REDIS_URL } : {}),
      STORE_PREFIX: testStorePrefix(),
      ...RANDOM_PORTS_ENV,
      HOST: '127.0.0.1',
      ADMIN_EMAIL: BENCH_ADMIN.email,
      ADMIN_PASSWORD: BENCH_ADMIN.password,
      // One token for the whole run (the gateway scenarios), however long BENCH_DURATION_S makes it.
      ACCESS_TOKEN_TTL_SECONDS: '3600',
    });
    platform = await startPlatform(config, { logger: createLogger({ level: 'silent' }), service: 'all' });
    const gatewayUrl = platform.gatewayUrl as string;
    const accessToken = await login(gatewayUrl, BENCH_ADMIN.email, BENCH_ADMIN.password);
    const caller = callerFromAccessToken(accessToken);
    // Same data directory as the platform: the gateway's own signing key, so subgraphs accept our tokens.
    const gatewayKey: SigningKey = await loadOrCreateSigningKey(dataDir, 'gateway');
    let requestCounter = 0;
    return {
      gatewayUrl,
      subgraphUrls: platform.subgraphUrls,
      dataDir,
      database: { kind: database.kind },
      store: testConfig.REDIS_URL ? 'redis' : 'memory',
      accessToken,
      caller,
      async subgraphHeaders(subgraph) {
        const token = await signGatewayToken(gatewayKey, subgraph, {
          caller,
          requestId: `bench-${process.pid}-${++requestCounter}`,
        });
        return { 'content-type': 'application/json', [GATEWAY_TOKEN_HEADER]: token };
      },
      close,
    };
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  text: string;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

/** One GraphQL POST, with the raw body kept (the load run compares every response with it). */
export async function gqlRequest<T = Record<string, unknown>>(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  let parsed: Omit<GraphQLResponse<T>, 'status' | 'text'> = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // Not JSON: the caller sees `text` and no data.
  }
  return { status: response.status, text, ...parsed };
}

export async function login(gatewayUrl: string, email: string, password: string): Promise<string> {
  const result = await gqlRequest<{ login: { accessToken: string } }>(
    gatewayUrl,
    JSON.stringify({
      query: 'mutation($input: LoginInput!) { login(input: $input) { accessToken } }',
      variables: { input: { email, password } },
    }),
    { 'content-type': 'application/json' },
  );
  const token = result.data?.login.accessToken;
  if (!token) throw new Error(`login failed (HTTP ${result.status}): ${result.text.slice(0, 500)}`);
  return token;
}

/** The caller the gateway would forward for this access token (its claims, unverified: we just got it). */
export function callerFromAccessToken(token: string): Caller {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') {
    throw new Error('access token without sub/sid');
  }
  return {
    kind: 'user',
    userId: payload.sub,
    sessionId: payload.sid,
    organizationId: typeof payload.org === 'string' ? payload.org : null,
    roles: strings(payload.roles),
    scopes: typeof payload.scope === 'string' && payload.scope ? payload.scope.split(' ') : [],
  };
}
