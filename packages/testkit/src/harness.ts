// The subgraph test harness: starts one or more subgraphs (real code, a fresh database, an isolated store) on
// random ports without the gateway, and calls them as any caller by minting the gateway's token with a
// throwaway key — the same door production requests pass. For module tests; journeys through the gateway
// stay in platform/test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  ANONYMOUS,
  type Caller,
  callerFromAccessClaims,
  type ClientInfo,
  GATEWAY_TOKEN_HEADER,
  loadOrCreateSigningKey,
  publicKeyFromJwk,
  signGatewayToken,
  type SigningKey,
  verifyAccessToken,
} from '@g3d/auth';
import { type CommonConfig, commonConfigSchema, parseConfig } from '@g3d/config';
import { createDatabase, type Database } from '@g3d/db';
import { createLogger, type ServiceContext, type ServiceDefinition, type SubgraphService } from '@g3d/kit';
import { findService } from '@g3d/manifest';
import type { Store } from '@g3d/store';
import { createRemoteJWKSet } from 'jose';

import { createTestDatabase, createTestStore, databaseEnv, type TestDatabase } from './database.ts';

export interface GraphQLResult<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

/** A caller of the harness: a complete Caller from a few fields (a user with no organization by default). */
export function caller(fields: Partial<Caller> & { userId: string }): Caller {
  return {
    kind: 'user',
    sessionId: null,
    organizationId: null,
    roles: [],
    scopes: [],
    email: null,
    mfaSetupRequired: false,
    ...fields,
  };
}

export interface SubgraphClient {
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResult<T>>;
}

export interface Harness {
  /** Each started subgraph's base URL by name. */
  urls: Record<string, string>;
  db: Database;
  store: Store;
  database: TestDatabase;
  /** Calls `service` (default: the first started) as `who` (anonymous by default), from `client`. */
  as(who?: Caller, options?: { service?: string; client?: ClientInfo }): SubgraphClient;
  /** Calls as the holder of an access token issued by identity, verified like the gateway does. */
  withToken(accessToken: string, options?: { service?: string; client?: ClientInfo }): Promise<SubgraphClient>;
  /** POSTs `body` to `service`'s `/internal<path>` as the gateway does (signed with the gateway's token). */
  internal(path: string, body: unknown, options?: { service?: string }): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Settings besides the test defaults (NODE_ENV=test, a temporary DATA_DIR, the test database and store). */
  env?: Record<string, string>;
  /** Services not started here that a started one calls (name → URL). */
  peers?: Record<string, string>;
  logLevel?: string;
}

/**
 * Starts the given subgraphs (name → its package's `service` definition) in manifest order semantics: each may
 * call the ones started before or after it (URLs are resolved lazily). One database and one store for all.
 */
export async function startSubgraphs(
  services: Record<string, ServiceDefinition>,
  options: HarnessOptions = {},
): Promise<Harness> {
  const database = await createTestDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-harness-'));
  const store = await createTestStore();
  const db = createDatabase({ url: database.url, poolMax: database.kind === 'pglite' ? 1 : 4 });
  const gatewayKey: SigningKey = await loadOrCreateSigningKey(dataDir, 'gateway');
  const logger = createLogger({ level: options.logLevel ?? 'silent' });
  const urls: Record<string, string> = {};
  const started: SubgraphService[] = [];
  const env = {
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    ...databaseEnv(database),
    ...options.env,
  };
  const peerUrl = (name: string) => {
    const url = urls[name] ?? options.peers?.[name];
    if (!url) throw new Error(`the harness did not start ${name}`);
    return url;
  };
  try {
    for (const [name, definition] of Object.entries(services)) {
      const declaration = findService(name);
      if (!declaration) throw new Error(`${name} is not in the service manifest`);
      const schema = definition.config ? commonConfigSchema.extend(definition.config.shape) : commonConfigSchema;
      const config = parseConfig(schema, env) as CommonConfig;
      const context: ServiceContext = {
        declaration,
        config,
        logger,
        store,
        database: () => db,
        gatewayKey: await publicKeyFromJwk(gatewayKey.publicJwk),
        trustedKeys: Object.fromEntries(
          declaration.trusts.map((peer) => [
            peer,
            (header, token) => createRemoteJWKSet(new URL('/.well-known/jwks.json', peerUrl(peer)))(header, token),
          ]),
        ),
        peerUrl,
        knownServices: () => Object.entries(urls).map(([service, url]) => ({ name: service, url })),
        createMissingKeys: true,
        eventPollIntervalMs: 50,
      };
      const service = await definition.build(context);
      urls[name] = (await service.start({ host: '127.0.0.1', port: 0 })).url;
      started.push(service);
    }
  } catch (error) {
    for (const service of started.reverse()) await service.stop();
    await cleanup();
    throw error;
  }
  const first = Object.keys(services)[0] as string;

  async function cleanup() {
    await db.close();
    await store.close();
    await database.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }

  const as: Harness['as'] = (who = ANONYMOUS, callOptions = {}) => {
    const name = callOptions.service ?? first;
    return {
      async gql<T>(query: string, variables?: Record<string, unknown>) {
        const token = await signGatewayToken(gatewayKey, name, {
          caller: who,
          requestId: `test-${Math.random().toString(36).slice(2)}`,
          ...(callOptions.client ? { client: callOptions.client } : {}),
        });
        const response = await fetch(`${peerUrl(name)}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [GATEWAY_TOKEN_HEADER]: token },
          body: JSON.stringify({ query, variables }),
        });
        return { status: response.status, ...((await response.json()) as Omit<GraphQLResult<T>, 'status'>) };
      },
    };
  };

  return {
    urls,
    db,
    store,
    database,
    as,
    async withToken(accessToken, callOptions = {}) {
      const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', peerUrl('identity')));
      const config = parseConfig(commonConfigSchema, env);
      const claims = await verifyAccessToken(jwks, accessToken, {
        issuer: config.AUTH_ISSUER,
        audience: config.AUTH_AUDIENCE,
      });
      return as(callerFromAccessClaims(claims), callOptions);
    },
    async internal(route, body, callOptions = {}) {
      const name = callOptions.service ?? first;
      const token = await signGatewayToken(gatewayKey, name, { caller: ANONYMOUS, requestId: 'test-internal' });
      const response = await fetch(`${peerUrl(name)}/internal${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [GATEWAY_TOKEN_HEADER]: token },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as unknown };
    },
    async close() {
      for (const service of started.reverse()) await service.stop();
      await cleanup();
    },
  };
}
