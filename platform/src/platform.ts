// Starts the platform: every subgraph and the gateway in one process (the all-in-one default), or one
// service alone (a container). The same code either way; only where things listen differs. Which services
// exist, their ports, peers and databases come from the service manifest (packages/manifest); how each is
// built comes from its package's service definition.
import fs from 'node:fs';
import path from 'node:path';

import { publicKeyFromJwk } from '@g3d/auth';
import { StartupError } from '@g3d/config';
import { applyMigrations, createDatabase, type Database, type EmbeddedPostgres, startEmbeddedPostgres } from '@g3d/db';
import { createGateway, type GatewayService, limitsFrom, subgraphEndpoints } from '@g3d/gateway';
import { loadGatewayPublicKey, loadSigningKey, type Logger, type ServiceContext, type SubgraphService } from '@g3d/kit';
import {
  aiSetting,
  findService,
  JOBS,
  portSetting,
  type ServiceDeclaration,
  SUBGRAPHS,
  usesDatabase,
} from '@g3d/manifest';
import { createStore, type Store } from '@g3d/store';
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import pg from 'pg';

import { type PlatformConfig, servicePort } from './config.ts';
import { type SeededAdmin, seedPlatform } from './seed.ts';
import { serviceDefinition } from './services.ts';

export interface RunningPlatform {
  gatewayUrl: string | null;
  subgraphUrls: Record<string, string>;
  databaseUrl: string;
  /** The process's database pool (when a service here uses one): tests count queries through it. */
  db: Database | null;
  store: Store;
  /** The reference upstream the AI wrappers call, when this process started it (no AI_UPSTREAM_BASE_URL). */
  referenceUpstreamUrl: string | null;
  /** Set when this start created the first admin. */
  seededAdmin: SeededAdmin | null;
  /** Shutdown, first step: every service fails readiness and closes connections after their response. */
  drain(): void;
  stop(): Promise<void>;
}

const repoRoot = path.resolve(import.meta.dirname, '../..');

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
    return await createStore({
      redisUrl: config.REDIS_URL,
      prefix: config.STORE_PREFIX,
      commandTimeoutMs: config.STORE_TIMEOUT_MS,
    });
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
  /** How often event consumers poll (tests shorten it; default 500 ms). */
  eventPollIntervalMs?: number;
  /**
   * The store to use instead of connecting one (tests: a gateway started apart from a platform, sharing its
   * in-process store as a second replica would share Redis).
   */
  store?: Store;
}

export async function startPlatform(config: PlatformConfig, options: StartOptions): Promise<RunningPlatform> {
  const { logger } = options;
  const all = options.service === 'all';
  const lone = findService(options.service);
  const known = ['all', ...JOBS.filter((j) => j === 'migrate'), ...SUBGRAPHS.map((s) => s.name), 'gateway'];
  if (!known.includes(options.service)) {
    throw new StartupError('--service', `unknown service "${options.service}" (one of: ${known.join(', ')})`);
  }
  const configuredUrls = parseSubgraphUrls(config.SUBGRAPH_URLS);
  if (lone && lone.kind !== 'gateway') checkPeersConfigured(lone, config, configuredUrls);
  const cleanups: (() => Promise<void> | void)[] = [];
  const drains: (() => void)[] = [];
  const drainAll = () => {
    for (const drain of drains) drain();
  };
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

  async function startReferenceUpstream(): Promise<string> {
    const { createReferenceUpstream } = await import('@g3d/reference-upstream');
    const upstream = createReferenceUpstream({
      onError: (error, where) => logger.error({ err: error, operation: where }, 'reference upstream operation failed'),
    });
    let url: string;
    try {
      ({ url } = await upstream.listen(config.HOST, config.REFERENCE_UPSTREAM_PORT));
    } catch (error) {
      throw new StartupError(
        'REFERENCE_UPSTREAM_PORT',
        `cannot listen on ${config.HOST}:${config.REFERENCE_UPSTREAM_PORT} (${(error as Error).message})`,
      );
    }
    cleanups.push(() => upstream.close());
    logger.info({ url }, 'reference upstream started (set AI_UPSTREAM_BASE_URL to use real model servers)');
    return url;
  }

  async function start(): Promise<RunningPlatform> {
    const wantsDb = all || options.service === 'migrate' || (lone ? usesDatabase(lone) : false);
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
    // A store handed in is the caller's to close (tests share one in-process store between two starts).
    const store = options.store ?? (await connectStore(config));
    if (!options.store) cleanups.push(() => store.close());

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
          statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_SECONDS * 1000,
        });
        cleanups.push(() => db.close());
        shared = db;
      }
      return shared;
    };

    let seededAdmin: SeededAdmin | null = null;
    if (all || options.service === 'migrate') seededAdmin = await seedPlatform(config, database());
    if (options.service === 'migrate') {
      await stopAll();
      return {
        gatewayUrl: null,
        subgraphUrls: {},
        databaseUrl,
        db: null,
        store,
        referenceUpstreamUrl: null,
        seededAdmin,
        drain: () => {},
        stop: async () => {},
      };
    }

    const started: Record<string, string> = {};
    const subgraphUrls: Record<string, string> = {};
    const toStart = all ? SUBGRAPHS : lone && lone.kind !== 'gateway' ? [lone] : [];
    // AI wrappers without an upstream of their own: the all-in-one process runs the reference upstream for them.
    const referenceUpstreamUrl =
      all && toStart.some((s) => s.ai && !config.AI_UPSTREAM_BASE_URL && !config[aiSetting(s.ai.slug, 'UPSTREAM_URL')])
        ? await startReferenceUpstream()
        : null;
    if (referenceUpstreamUrl) config = { ...config, AI_UPSTREAM_BASE_URL: referenceUpstreamUrl };
    if (toStart.length) {
      // Subgraphs only need the gateway's public key; the all-in-one process holds the pair.
      const gatewayKey = all
        ? await publicKeyFromJwk((await gatewaySigningKey(config, true)).publicJwk)
        : await loadGatewayPublicKey(config.GATEWAY_PUBLIC_KEY, config.DATA_DIR);
      /** A service started here (URL known once it listens), else configured in SUBGRAPH_URLS. */
      const peerUrl = (peer: string) => {
        const url = started[peer] ?? configuredUrls[peer];
        if (!url) throw new Error(`no URL for the ${peer} service`);
        return url;
      };
      const knownServices = () =>
        Object.entries({ ...configuredUrls, ...started }).map(([name, url]) => ({ name, url }));
      for (const declaration of toStart) {
        const definition = await serviceDefinition(declaration);
        const context: ServiceContext = {
          declaration,
          config,
          logger,
          store,
          database,
          gatewayKey,
          trustedKeys: Object.fromEntries(
            declaration.trusts.map((peer) => [peer, lazyRemoteJwks(() => jwksUrl(config, peer, peerUrl))]),
          ),
          peerUrl,
          knownServices: () => knownServices().filter((s) => s.name !== declaration.name),
          createMissingKeys: all,
          shutdownGraceMs: config.SHUTDOWN_GRACE_SECONDS * 1000,
          ...(options.eventPollIntervalMs ? { eventPollIntervalMs: options.eventPollIntervalMs } : {}),
        };
        const service = await definition.build(context);
        const { url } = await listenOrExplain(
          service,
          config.HOST,
          servicePort(config, declaration.name),
          portSetting(declaration.name),
        );
        cleanups.push(() => service.stop());
        drains.push(() => service.drain());
        started[declaration.name] = url;
        subgraphUrls[declaration.name] = `${url}/graphql`;
      }
    }

    let gatewayUrl: string | null = null;
    if (all || options.service === 'gateway') {
      const gateway = await buildGateway(config, {
        ...options,
        store,
        subgraphUrls: { ...configuredUrls, ...options.subgraphUrls, ...subgraphUrls },
      });
      const { url } = await listenOrExplain(gateway, config.HOST, servicePort(config, 'gateway'), 'GATEWAY_PORT');
      cleanups.push(() => gateway.stop());
      drains.push(() => gateway.drain());
      gatewayUrl = `${url}/graphql`;
    }
    return {
      gatewayUrl,
      subgraphUrls,
      databaseUrl,
      db: shared ?? null,
      store,
      referenceUpstreamUrl,
      seededAdmin,
      drain: drainAll,
      stop: stopAll,
    };
  }
}

/** A service running alone must be told where the services it calls and trusts are. */
function checkPeersConfigured(
  service: ServiceDeclaration,
  config: PlatformConfig,
  configured: Record<string, string>,
): void {
  for (const peer of service.calls) {
    if (!configured[peer])
      throw new StartupError('SUBGRAPH_URLS', `${service.name} needs ${peer}=<url> (it calls the ${peer} service)`);
  }
  for (const peer of service.trusts) {
    if (!configured[peer] && !jwksSetting(config, peer))
      throw new StartupError(
        `${peer.toUpperCase()}_JWKS_URL`,
        `${service.name} needs ${peer}'s JWKS URL (or SUBGRAPH_URLS ${peer}=<url>) to verify its service tokens`,
      );
  }
}

/** `<PEER>_JWKS_URL` when set (only identity publishes keys today: IDENTITY_JWKS_URL). */
function jwksSetting(config: PlatformConfig, peer: string): string | undefined {
  const value = config[`${peer.toUpperCase().replace(/-/g, '_')}_JWKS_URL`];
  return typeof value === 'string' ? value : undefined;
}

function jwksUrl(config: PlatformConfig, peer: string, peerUrl: (name: string) => string): string {
  return jwksSetting(config, peer) ?? new URL('/.well-known/jwks.json', peerUrl(peer)).toString();
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

/** The gateway's signing key: GATEWAY_SIGNING_KEY, else DATA_DIR/keys (created only by all/keygen). */
export function gatewaySigningKey(config: PlatformConfig, create: boolean) {
  return loadSigningKey({
    name: 'gateway',
    setting: 'GATEWAY_SIGNING_KEY',
    value: config.GATEWAY_SIGNING_KEY,
    dataDir: config.DATA_DIR,
    create,
  });
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
    shutdownGraceMs: config.SHUTDOWN_GRACE_SECONDS * 1000,
    subgraphTimeoutMs: config.SUBGRAPH_TIMEOUT_SECONDS * 1000,
    requestTimeoutMs: config.REQUEST_TIMEOUT_SECONDS * 1000,
    maxRequestBytes: config.MAX_REQUEST_BYTES,
    limits: limitsFrom(config),
    cors: {
      origins: config.CORS_ORIGINS ?? [],
      allowLocalhost: config.NODE_ENV !== 'production',
      allowApolloStudio: config.CORS_ALLOW_APOLLO_STUDIO ?? false,
    },
    rateLimit: {
      perIp: config.RATE_LIMIT_PER_IP,
      perPrincipal: config.RATE_LIMIT_PER_PRINCIPAL,
      windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
    },
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
        signingKey: await gatewaySigningKey(config, options.service === 'all'),
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
