// The platform under test, booted in this process: gateway + every subgraph on random loopback ports against a
// fresh database (@g3d/testkit: PGlite in memory unless DATABASE_URL, the in-process store unless REDIS_URL).
// Adapted from platform/test/helpers.ts (not imported: test helpers are not a library).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  type Caller,
  type ClientInfo,
  GATEWAY_TOKEN_HEADER,
  loadOrCreateSigningKey,
  signGatewayToken,
  type SigningKey,
} from '@g3d/auth';
import { createGateway, type GatewayService } from '@g3d/gateway';
import { createLogger } from '@g3d/kit';
import {
  loadPlatformConfig,
  RANDOM_PORTS_ENV,
  type RunningPlatform,
  startPlatform,
  SUPERGRAPH_FILE,
} from '@g3d/platform';
import { createEmptyDatabase, databaseEnv, testConfig, type TestDatabase, testStorePrefix } from '@g3d/testkit';
import { createRemoteJWKSet } from 'jose';

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
  /**
   * Headers a subgraph accepts: a fresh gateway token (60 s lifetime) for `subgraph`, for the admin unless
   * another caller (and the client the gateway would have seen) is given.
   */
  subgraphHeaders(subgraph: string, as?: { caller: Caller; client?: ClientInfo }): Promise<Record<string, string>>;
  /**
   * A second gateway on the same subgraphs with the same authentication but without the edge protections
   * (operation limits, rate limit, CORS): what they cost is the ratio between the two.
   */
  bareGatewayUrl(): Promise<string>;
  /** The reference upstream the AI wrappers call. */
  referenceUpstreamUrl: string;
  /**
   * Puts the admin's organization on the professional plan without quota or rate limit on secure-ai, so that
   * the AI scenario measures the path, never a refusal.
   */
  openAiServices(): Promise<void>;
  close(): Promise<void>;
}

export async function startBenchPlatform(options: { logLevel?: string } = {}): Promise<BenchPlatform> {
  const database = await createEmptyDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-bench-'));
  let platform: RunningPlatform | null = null;
  let bare: Promise<{ gateway: GatewayService; url: string }> | null = null;
  const close = async () => {
    if (bare) await (await bare).gateway.stop();
    await platform?.stop();
    await database.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const config = await loadPlatformConfig({
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      ...databaseEnv(database),
      // PGlite has one session and its socket server interleaves the protocol messages of concurrent
      // connections (wrong results, "portal does not exist", hung queries): one connection, as the platform
      // uses for its own embedded database and as platform/test/helpers.ts does.
      ...(testConfig.REDIS_URL ? { REDIS_URL: testConfig.REDIS_URL } : {}),
      STORE_PREFIX: testStorePrefix(),
      ...RANDOM_PORTS_ENV,
      HOST: '127.0.0.1',
      ADMIN_EMAIL: BENCH_ADMIN.email,
      ADMIN_PASSWORD: BENCH_ADMIN.password,
      // One token for the whole run (the gateway scenarios), however long BENCH_DURATION_S makes it.
      ACCESS_TOKEN_TTL_SECONDS: '3600',
      // The login scenarios sign in from one address (loopback) as fast as they can: the per-IP limit at its
      // maximum so that the throttle is measured (it still runs on every attempt) but never refuses.
      LOGIN_IP_LIMIT: '100000',
      // Every attempt counts towards the account's failure window until a success resets it, so concurrent
      // logins in flight count too: with more than LOGIN_MAX_FAILURES (default 10) logins of the bench admin in
      // flight at once the account locks. At its maximum (100) it stays above the login scenarios' concurrency
      // (at most 16, see scenarios/login.ts).
      LOGIN_MAX_FAILURES: '100',
      // The global rate limit runs on every request (it is part of what the gateway costs) but never refuses.
      RATE_LIMIT_PER_IP: '10000000',
      RATE_LIMIT_PER_PRINCIPAL: '10000000',
    });
    platform = await startPlatform(config, {
      logger: createLogger({ level: options.logLevel ?? 'silent' }),
      service: 'all',
    });
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
      referenceUpstreamUrl: platform.referenceUpstreamUrl as string,
      async openAiServices() {
        const organizationId = caller.organizationId;
        if (!organizationId) throw new Error('the bench admin acts in no organization');
        const result = await gqlRequest(
          gatewayUrl,
          JSON.stringify({
            query: `mutation($o: ID!) {
              assignPlan(organizationId: $o, planId: "professional") { status }
              setEntitlementOverrides(organizationId: $o, input: { services: [
                { service: "secure-ai", requests: null, rateLimitPer15Min: 10000000 }
              ] }) { seats }
            }`,
            variables: { o: organizationId },
          }),
          { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
        );
        if (result.errors?.length) throw new Error(`cannot open the AI services: ${result.text.slice(0, 500)}`);
      },
      async subgraphHeaders(subgraph, as) {
        const token = await signGatewayToken(gatewayKey, subgraph, {
          caller: as?.caller ?? caller,
          requestId: `bench-${process.pid}-${++requestCounter}`,
          ...(as?.client ? { client: as.client } : {}),
        });
        return { 'content-type': 'application/json', [GATEWAY_TOKEN_HEADER]: token };
      },
      bareGatewayUrl() {
        bare ??= (async () => {
          const running = platform as RunningPlatform;
          const identity = new URL(running.subgraphUrls.identity ?? '');
          const gateway = createGateway({
            supergraphSdl: fs.readFileSync(SUPERGRAPH_FILE, 'utf8'),
            subgraphUrls: running.subgraphUrls,
            store: running.store,
            logger: createLogger({ level: 'silent' }),
            nodeEnv: 'test',
            introspection: false,
            limits: null,
            auth: {
              mode: 'platform',
              accessKeys: createRemoteJWKSet(new URL('/.well-known/jwks.json', identity)),
              issuer: config.AUTH_ISSUER,
              audience: config.AUTH_AUDIENCE,
              signingKey: gatewayKey,
            },
          });
          const { url } = await gateway.start({ host: '127.0.0.1', port: 0 });
          return { gateway, url: `${url}/graphql` };
        })();
        return bare.then(({ url }) => url);
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
    email: typeof payload.email === 'string' ? payload.email : null,
    mfaSetupRequired: payload.mfa_setup_required === true,
  };
}
