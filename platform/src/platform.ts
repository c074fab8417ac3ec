// Starts the platform: every subgraph and the gateway in one process (the all-in-one default), or one
// service alone (a container). The same code either way; only where things listen differs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { AI_SERVICES, createAiService, subgraphName } from '@g3d/ai-services';
import {
  keyPaths,
  loadOrCreateSigningKey,
  loadPublicKeyFile,
  loadRetiredPublicKeys,
  parseJwk,
  publicKeyFromJwk,
  type SigningKey,
  signingKeyFromJwkText,
  type VerifyKey,
} from '@g3d/auth';
import { StartupError } from '@g3d/config';
import { applyMigrations, createDatabase, type Database, type EmbeddedPostgres, startEmbeddedPostgres } from '@g3d/db';
import { createEntitlementService, seedPlans } from '@g3d/entitlement';
import { createGateway, type GatewayService, subgraphEndpoints } from '@g3d/gateway';
import { createIdentityService, loadOrCreateSecretBoxKey, secretBoxKeyFromText, seedFirstAdmin } from '@g3d/identity';
import type { Logger, SubgraphDeps, SubgraphService } from '@g3d/kit';
import { createOrganizationService, seedFirstOrganization } from '@g3d/organization';
import { createStore, type Store } from '@g3d/store';
import { createTelemetryService, type HealthTarget } from '@g3d/telemetry';
import { createRemoteJWKSet, type JWK, type JWTVerifyGetKey } from 'jose';
import pg from 'pg';

import { findSubgraph, PLATFORM_SUBGRAPHS } from './catalog.ts';
import type { PlatformConfig } from './config.ts';

export interface RunningPlatform {
  gatewayUrl: string | null;
  subgraphUrls: Record<string, string>;
  databaseUrl: string;
  /** The process's database pool (when a service here uses one): tests count queries through it. */
  db: Database | null;
  store: Store;
  /** Set when this start created the first admin. */
  seededAdmin: { email: string; password: string; generated: boolean } | null;
  stop(): Promise<void>;
}

const repoRoot = path.resolve(import.meta.dirname, '../..');

/**
 * A signing key from env, else from DATA_DIR/keys. Only the all-in-one process and keygen create missing
 * keys: a service running alone that made its own key would sign with one nobody trusts.
 */
export async function loadSigningKey(
  config: PlatformConfig,
  name: 'identity' | 'gateway',
  options: { create: boolean },
): Promise<SigningKey> {
  const setting = name === 'identity' ? 'IDENTITY_SIGNING_KEY' : 'GATEWAY_SIGNING_KEY';
  const value = config[setting];
  const file = keyPaths(config.DATA_DIR, name).privatePath;
  if (!value && !options.create && !fs.existsSync(file)) {
    throw new StartupError(setting, `not set, and no ${file} (run the keygen service first)`);
  }
  try {
    return value ? await signingKeyFromJwkText(value, setting) : await loadOrCreateSigningKey(config.DATA_DIR, name);
  } catch (error) {
    throw new StartupError(value ? setting : 'DATA_DIR', (error as Error).message);
  }
}

async function loadGatewayPublicKey(config: PlatformConfig): Promise<VerifyKey> {
  try {
    if (config.GATEWAY_PUBLIC_KEY)
      return await publicKeyFromJwk(parseJwk(config.GATEWAY_PUBLIC_KEY, 'GATEWAY_PUBLIC_KEY'));
    const key = await loadPublicKeyFile(config.DATA_DIR, 'gateway');
    if (key) return key;
  } catch (error) {
    throw new StartupError('GATEWAY_PUBLIC_KEY', (error as Error).message);
  }
  throw new StartupError(
    'GATEWAY_PUBLIC_KEY',
    `not set, and no ${path.join(config.DATA_DIR, 'keys/gateway.public.jwk.json')} (run the keygen service first)`,
  );
}

/** Connects once to fail fast with a message that names the setting; tells whether it is PGlite. */
async function checkDatabase(url: string, setting: string): Promise<{ pglite: boolean }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ version: string }>('SELECT version() AS version');
    return { pglite: String(rows[0]?.version).includes('PGlite') };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new StartupError(setting, `cannot connect to the database (${e.code ?? ''} ${e.message})`.replace('( ', '('));
  } finally {
    await client.end().catch(() => {});
  }
}

async function connectStore(config: PlatformConfig): Promise<Store> {
  try {
    return await createStore({ redisUrl: config.REDIS_URL, prefix: config.STORE_PREFIX });
  } catch (error) {
    throw new StartupError('REDIS_URL', `cannot connect to Redis (${(error as Error).message})`);
  }
}

/** One PGlite per data directory: refuse to start twice on the same one. */
function lockDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const lockPath = path.join(dataDir, 'platform.lock');
  try {
    fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
  } catch {
    const pid = Number(fs.readFileSync(lockPath, 'utf8'));
    let alive = false;
    try {
      alive = pid > 0 && pid !== process.pid && process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (alive) throw new StartupError('DATA_DIR', `${dataDir} is in use by process ${pid}`);
    fs.writeFileSync(lockPath, String(process.pid));
  }
  return () => fs.rmSync(lockPath, { force: true });
}

export interface StartOptions {
  logger: Logger;
  /** Which services: 'all' (gateway + every subgraph), 'gateway', or one subgraph name. */
  service: string;
  /** Gateway only: run without platform auth (no JWT check, no gateway signature). */
  authOff?: boolean;
  /** Gateway only: subgraph URL overrides by name. */
  subgraphUrls?: Record<string, string>;
}

export async function startPlatform(config: PlatformConfig, options: StartOptions): Promise<RunningPlatform> {
  const { logger } = options;
  const all = options.service === 'all';
  // Peers a lone service calls must be configured (all-in-one starts them itself).
  const configuredPeers = parseSubgraphUrls(config.SUBGRAPH_URLS);
  if (options.service === 'identity' && !configuredPeers.organization)
    throw new StartupError('SUBGRAPH_URLS', 'identity needs organization=<url> (it asks for memberships)');
  if (options.service === 'organization' && !configuredPeers.identity && !config.IDENTITY_JWKS_URL)
    throw new StartupError(
      'IDENTITY_JWKS_URL',
      "organization needs identity's JWKS URL (or SUBGRAPH_URLS identity=<url>)",
    );
  const cleanups: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await Promise.resolve()
        .then(cleanup)
        .catch((error: unknown) => logger.error({ err: error }, 'shutdown step failed'));
    }
  };
  try {
    return await start();
  } catch (error) {
    await stopAll();
    throw error;
  }

  async function start(): Promise<RunningPlatform> {
    const known = ['all', 'gateway', 'migrate', ...PLATFORM_SUBGRAPHS.map((s) => s.name)];
    if (!known.includes(options.service)) {
      throw new StartupError('--service', `unknown service "${options.service}" (one of: ${known.join(', ')})`);
    }
    const wantsDb = all || options.service === 'migrate' || findSubgraph(options.service)?.usesDatabase === true;
    let databaseUrl = config.DATABASE_URL ?? '';
    if (wantsDb && !config.DATABASE_URL) {
      if (!all && options.service !== 'migrate') {
        throw new StartupError(
          'DATABASE_URL',
          'required when a service runs alone (the embedded database runs only in the all-in-one process)',
        );
      }
      cleanups.push(lockDataDir(config.DATA_DIR));
      let embedded: EmbeddedPostgres;
      try {
        embedded = await startEmbeddedPostgres({ dataDir: path.join(config.DATA_DIR, 'pglite') });
      } catch (error) {
        throw new StartupError('DATA_DIR', `cannot open the embedded database (${(error as Error).message})`);
      }
      cleanups.push(() => embedded.stop());
      databaseUrl = embedded.url;
      logger.info({ dataDir: path.resolve(config.DATA_DIR) }, 'embedded PostgreSQL (PGlite) started');
    }
    let pglite = false;
    if (wantsDb) {
      ({ pglite } = await checkDatabase(databaseUrl, config.DATABASE_URL ? 'DATABASE_URL' : 'DATA_DIR'));
      if (all || options.service === 'migrate') {
        const result = await applyMigrations(databaseUrl);
        if (result.applied.length) logger.info({ applied: result.applied }, 'migrations applied');
        if (result.edited.length)
          logger.warn({ edited: result.edited }, 'applied migrations were edited afterwards; they are not re-run');
      }
    }
    const store = await connectStore(config);
    cleanups.push(() => store.close());

    // One pool per process, shared by the subgraphs running in it. The embedded database gets a single
    // connection: PGlite has one session, and its socket multiplexer interleaves the protocol messages of
    // concurrent connections (wrong results, "portal does not exist"), so queries must reach it one at a time.
    let shared: Database | undefined;
    const database = () => {
      if (!shared) {
        const db = createDatabase({
          url: databaseUrl,
          poolMax: config.DATABASE_URL ? config.DB_POOL_MAX : 1,
          // PGlite's one session is shared by every connection to it: prepared statement names would collide.
          namedStatements: !pglite,
        });
        cleanups.push(() => db.close());
        shared = db;
      }
      return shared;
    };

    let seededAdmin: RunningPlatform['seededAdmin'] = null;
    if (all || options.service === 'migrate') seededAdmin = await seed(config, database);
    if (options.service === 'migrate') {
      await stopAll();
      return { gatewayUrl: null, subgraphUrls: {}, databaseUrl, db: null, store, seededAdmin, stop: async () => {} };
    }

    const subgraphUrls: Record<string, string> = {};
    const names = all ? PLATFORM_SUBGRAPHS.map((s) => s.name) : options.service === 'gateway' ? [] : [options.service];
    if (names.length) {
      // Subgraphs only need the gateway's public key; the all-in-one process holds the pair.
      const gatewayKey = all
        ? await publicKeyFromJwk((await loadSigningKey(config, 'gateway', { create: true })).publicJwk)
        : await loadGatewayPublicKey(config);
      const identityKey = names.includes('identity') ? await loadSigningKey(config, 'identity', { create: all }) : null;
      // Telemetry checks every service: the ones started here, or (running alone) those in SUBGRAPH_URLS.
      const targets: HealthTarget[] = all
        ? []
        : Object.entries(parseSubgraphUrls(config.SUBGRAPH_URLS))
            .filter(([name]) => !names.includes(name))
            .map(([service, url]) => ({ service, url: new URL('/', url).toString() }));
      for (const name of names) {
        const entry = findSubgraph(name);
        if (!entry) throw new StartupError('service', `unknown service "${name}"`);
        const deps: SubgraphDeps = {
          logger,
          store,
          gatewayKey,
          nodeEnv: config.NODE_ENV,
        };
        const service = buildSubgraph(name, deps, {
          database,
          identityKey,
          config,
          targets: () => targets,
          mfaKey: () => loadMfaKey(config, all),
          // Started here (URL known once it listens), else configured.
          subgraphUrl: (peer) => subgraphUrls[peer] ?? configuredPeers[peer],
        });
        const { url } = await listenOrExplain(
          service,
          config.HOST,
          entry.port(config),
          `${name.toUpperCase().replace(/-/g, '_')}_PORT`,
        );
        cleanups.push(() => service.stop());
        subgraphUrls[name] = `${url}/graphql`;
        targets.push({ service: name, url });
      }
    }

    let gatewayUrl: string | null = null;
    if (all || options.service === 'gateway') {
      const gateway = await buildGateway(config, {
        ...options,
        store,
        subgraphUrls: { ...parseSubgraphUrls(config.SUBGRAPH_URLS), ...options.subgraphUrls, ...subgraphUrls },
      });
      const { url } = await listenOrExplain(gateway, config.HOST, config.GATEWAY_PORT, 'GATEWAY_PORT');
      cleanups.push(() => gateway.stop());
      gatewayUrl = `${url}/graphql`;
    }
    return { gatewayUrl, subgraphUrls, databaseUrl, db: shared ?? null, store, seededAdmin, stop: stopAll };
  }
}

/** Retired identity keys to keep publishing: from IDENTITY_PREVIOUS_PUBLIC_KEYS, else DATA_DIR/keys. */
function previousIdentityKeys(config: PlatformConfig): JWK[] {
  if (!config.IDENTITY_PREVIOUS_PUBLIC_KEYS) return loadRetiredPublicKeys(config.DATA_DIR, 'identity');
  try {
    const keys: unknown = JSON.parse(config.IDENTITY_PREVIOUS_PUBLIC_KEYS);
    if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'object' || k === null || 'd' in k))
      throw new Error('not an array of public JWKs');
    return keys as JWK[];
  } catch (error) {
    throw new StartupError('IDENTITY_PREVIOUS_PUBLIC_KEYS', (error as Error).message);
  }
}

/** The key that encrypts TOTP secrets at rest: MFA_ENCRYPTION_KEY, else DATA_DIR/keys (created only by all/keygen). */
export function loadMfaKey(config: PlatformConfig, create: boolean): Buffer {
  try {
    if (config.MFA_ENCRYPTION_KEY) return secretBoxKeyFromText(config.MFA_ENCRYPTION_KEY);
    const file = path.join(config.DATA_DIR, 'keys', 'mfa-encryption.key');
    if (!create && !fs.existsSync(file)) throw new Error(`not set, and no ${file} (run the keygen service first)`);
    return loadOrCreateSecretBoxKey(config.DATA_DIR);
  } catch (error) {
    throw new StartupError('MFA_ENCRYPTION_KEY', (error as Error).message);
  }
}

async function listenOrExplain(
  service: Pick<SubgraphService, 'start'>,
  host: string,
  port: number,
  setting: string,
): Promise<{ url: string }> {
  try {
    return await service.start({ host, port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new StartupError(setting, `port ${port} is already in use`);
    if (code === 'EACCES') throw new StartupError(setting, `no permission to listen on port ${port}`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new StartupError('HOST', `cannot listen on ${host}`);
    throw error;
  }
}

function buildSubgraph(
  name: string,
  deps: SubgraphDeps,
  context: {
    database: () => Database;
    identityKey: SigningKey | null;
    config: PlatformConfig;
    targets: () => HealthTarget[];
    mfaKey: () => Buffer;
    subgraphUrl: (name: string) => string | undefined;
  },
): SubgraphService {
  const { config } = context;
  /** A peer this service calls: started in this process or listed in SUBGRAPH_URLS (checked at startup). */
  const peerUrl = (peer: string) => () => {
    const url = context.subgraphUrl(peer);
    if (!url) throw new Error(`no URL for the ${peer} service`);
    return url;
  };
  switch (name) {
    case 'identity':
      return createIdentityService(
        { ...deps, db: context.database() },
        {
          signingKey: context.identityKey as SigningKey,
          tokens: {
            issuer: config.AUTH_ISSUER,
            audience: config.AUTH_AUDIENCE,
            ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
          },
          sessionTtlSeconds: config.SESSION_TTL_SECONDS,
          refreshGraceSeconds: config.REFRESH_GRACE_SECONDS,
          previousPublicKeys: previousIdentityKeys(config),
          mfaEncryptionKey: context.mfaKey(),
          appUrl: config.APP_URL,
          smtpUrl: config.SMTP_URL,
          mailFrom: config.MAIL_FROM,
          mailRetryIntervalMs: config.MAIL_RETRY_SECONDS * 1000,
          passwordMinLength: config.PASSWORD_MIN_LENGTH,
          devMailbox: config.NODE_ENV !== 'production' && !config.SMTP_URL,
          throttle: { maxFailures: config.LOGIN_MAX_FAILURES, perIpLimit: config.LOGIN_IP_LIMIT },
          organizationUrl: peerUrl('organization'),
        },
      );
    case 'organization': {
      // Identity asks for memberships with service tokens signed by its key: verified with its JWKS.
      const identityJwks = () =>
        config.IDENTITY_JWKS_URL ?? new URL('/.well-known/jwks.json', peerUrl('identity')()).toString();
      return createOrganizationService(
        { ...deps, db: context.database(), trustedServices: { identity: lazyRemoteJwks(identityJwks) } },
        {
          appUrl: config.APP_URL,
          smtpUrl: config.SMTP_URL,
          mailFrom: config.MAIL_FROM,
          accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
        },
      );
    }
    case 'entitlement':
      return createEntitlementService({ ...deps, db: context.database() });
    case 'telemetry':
      return createTelemetryService(deps, { targets: context.targets });
    default: {
      const service = AI_SERVICES.find((s) => subgraphName(s.slug) === name);
      if (!service) throw new StartupError('service', `unknown service "${name}"`);
      return createAiService(service, deps);
    }
  }
}

/** A remote JWKS whose URL is known only once the service serving it listens (all-in-one start order). */
function lazyRemoteJwks(url: () => string): JWTVerifyGetKey {
  let jwks: JWTVerifyGetKey | undefined;
  return (header, token) => {
    jwks ??= createRemoteJWKSet(new URL(url()), { cooldownDuration: 30_000, cacheMaxAge: 600_000 });
    return jwks(header, token);
  };
}

function parseSubgraphUrls(value: string | undefined): Record<string, string> {
  if (!value) return {};
  return Object.fromEntries(value.split(',').map((pair) => pair.split('=', 2) as [string, string]));
}

async function buildGateway(
  config: PlatformConfig,
  options: StartOptions & { store: Store; subgraphUrls: Record<string, string> },
): Promise<GatewayService> {
  const supergraphPath = path.resolve(config.SUPERGRAPH_PATH.startsWith('/') ? '' : repoRoot, config.SUPERGRAPH_PATH);
  let supergraphSdl: string;
  try {
    supergraphSdl = fs.readFileSync(supergraphPath, 'utf8');
  } catch {
    throw new StartupError('SUPERGRAPH_PATH', `cannot read ${supergraphPath} (run npm run compose)`);
  }
  const introspection = config.GATEWAY_INTROSPECTION ?? config.NODE_ENV !== 'production';
  const base = {
    supergraphSdl,
    subgraphUrls: options.subgraphUrls,
    store: options.store,
    logger: options.logger,
    nodeEnv: config.NODE_ENV,
    introspection,
    trustProxyHops: config.TRUST_PROXY_HOPS,
  };
  let gateway: GatewayService;
  try {
    if (options.authOff) return createGateway({ ...base, auth: { mode: 'off' } });
    const identity = subgraphEndpoints(supergraphSdl, options.subgraphUrls).find((e) => e.name === 'identity');
    const jwksUrl =
      config.IDENTITY_JWKS_URL ?? (identity ? new URL('/.well-known/jwks.json', identity.url).toString() : undefined);
    if (!jwksUrl)
      throw new StartupError(
        'IDENTITY_JWKS_URL',
        'not set and the supergraph has no identity subgraph (use --auth off for third-party supergraphs)',
      );
    gateway = createGateway({
      ...base,
      auth: {
        mode: 'platform',
        accessKeys: createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 600_000 }),
        issuer: config.AUTH_ISSUER,
        audience: config.AUTH_AUDIENCE,
        signingKey: await loadSigningKey(config, 'gateway', { create: options.service === 'all' }),
      },
    });
  } catch (error) {
    if (error instanceof StartupError) throw error;
    throw new StartupError(
      'SUPERGRAPH_PATH',
      `${supergraphPath} is not a valid supergraph (${(error as Error).message})`,
    );
  }
  return gateway;
}

async function seed(config: PlatformConfig, database: () => Database): Promise<RunningPlatform['seededAdmin']> {
  const db = database();
  await seedPlans(db);
  const generated = !config.ADMIN_PASSWORD;
  // 18 random bytes → 24 base64url characters: never a default password.
  const password = config.ADMIN_PASSWORD ?? crypto.randomBytes(18).toString('base64url');
  const admin = await seedFirstAdmin(db, { email: config.ADMIN_EMAIL, password });
  if (!admin.created || !admin.userId) return null;
  await seedFirstOrganization(db, admin.userId);
  return { email: config.ADMIN_EMAIL, password, generated };
}
