// Faults production will bring, injected on loopback and bounded in time: SIGTERM under load, a frozen subgraph,
// identity's keys unreachable, Redis gone (a Redis this test starts and kills itself), the database gone (a
// proxy this test cuts). Each answers with the right code, quickly, with one log line; nothing hangs or lies.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

import { startEmbeddedPostgres } from '@g3d/db';
import { loadPlatformConfig, RANDOM_PORTS_ENV, type RunningPlatform, startPlatform } from '@g3d/platform';
import { childEnv, createEmptyDatabase, databaseEnv, testConfig, testStorePrefix } from '@g3d/testkit';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ADMIN, gql, login, registerClient, startTestPlatform, type TestPlatform } from './helpers.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');

function recordingLogger() {
  const lines: { level: number; msg: string; requestId?: string; dependency?: string }[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    }),
  );
  return { lines, logger };
}

/** A TCP server that accepts connections and never answers: a frozen process, as the network sees it. */
async function frozenServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A gateway alone, sharing a running test platform's keys, with some subgraph URLs overridden. */
async function separateGateway(
  platform: TestPlatform,
  env: Record<string, string>,
  logger = recordingLogger().logger,
): Promise<RunningPlatform> {
  const urls = { ...platform.subgraphUrls, ...JSON.parse(env.OVERRIDES ?? '{}') } as Record<string, string>;
  const { OVERRIDES: _overrides, ...rest } = env;
  const config = await loadPlatformConfig({
    NODE_ENV: 'test',
    DATA_DIR: platform.dataDir,
    ...RANDOM_PORTS_ENV,
    ...(testConfig.REDIS_URL ? { REDIS_URL: testConfig.REDIS_URL } : {}),
    STORE_PREFIX: platform.storePrefix,
    SUBGRAPH_URLS: Object.entries(urls)
      .map(([name, url]) => `${name}=${url}`)
      .join(','),
    RATE_LIMIT_PER_IP: '1000000',
    ...rest,
  });
  // Shares the platform's store, as a second replica shares Redis (the in-process store lives in one process).
  return startPlatform(config, { logger, service: 'gateway', store: platform.store });
}

describe('a frozen subgraph and unreachable keys', () => {
  let platform: TestPlatform;
  let frozen: Awaited<ReturnType<typeof frozenServer>>;
  beforeAll(async () => {
    platform = await startTestPlatform();
    frozen = await frozenServer();
  });
  afterAll(async () => {
    await frozen?.close();
    await platform?.close();
  });

  it("a frozen organization costs its timeout, and identity's fields are still served", async () => {
    const gateway = await separateGateway(platform, {
      SUBGRAPH_TIMEOUT_SECONDS: '1',
      OVERRIDES: JSON.stringify({ organization: frozen.url }),
    });
    try {
      const token = await login(platform.gatewayUrl, ADMIN.email, ADMIN.password);
      const started = Date.now();
      const result = await gql<{ me: { id: string; displayName: string; organizations: unknown } }>(
        gateway.gatewayUrl as string,
        '{ me { id displayName organizations { id } } }',
        { token },
      );
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(3_000);
      expect(result.status).toBe(200);
      expect(result.data?.me.id).toBeTruthy();
      expect(result.data?.me.displayName).toBe('Administrator');
      expect(result.data?.me.organizations).toBeNull();
      expect(result.errors?.[0]?.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', service: 'organization' });
    } finally {
      await gateway.stop();
    }
  });

  it("identity's keys unreachable: a valid token is 503 SERVICE_UNAVAILABLE (never 401), logged once", async () => {
    const { lines, logger } = recordingLogger();
    const gateway = await separateGateway(
      platform,
      { IDENTITY_JWKS_URL: frozen.url.replace('/graphql', '/.well-known/jwks.json') },
      logger,
    );
    try {
      const token = await login(platform.gatewayUrl, ADMIN.email, ADMIN.password);
      const result = await gql(gateway.gatewayUrl as string, '{ me { id } }', { token });
      expect(result.status).toBe(503);
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', dependency: 'identity' });
      expect(lines.filter((l) => l.level >= 50 && l.msg === 'cannot verify credentials')).toHaveLength(1);
    } finally {
      await gateway.stop();
    }
  }, 30_000);
});

describe('a retry after a lost answer (Idempotency-Key)', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startTestPlatform();
  });
  afterAll(() => platform?.close());

  const CREATE = 'mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { id slug } }';
  const create = (token: string, key: string | null, slug: string) =>
    gql<{ createOrganization: { id: string; slug: string } }>(platform.gatewayUrl, CREATE, {
      token,
      variables: { i: { name: 'Retry', slug } },
      headers: key ? { 'idempotency-key': key } : {},
    });

  it('returns the first result to a retried createOrganization, also to concurrent retries', async () => {
    const token = await login(platform.gatewayUrl, ADMIN.email, ADMIN.password);
    const first = await create(token, 'k-123', 'retried-org');
    expect(first.errors).toBeUndefined();
    const retries = await Promise.all([1, 2, 3].map(() => create(token, 'k-123', 'retried-org')));
    for (const retry of retries) expect(retry.data?.createOrganization).toEqual(first.data?.createOrganization);
    // Without the key the same request is a second attempt at the slug: CONFLICT, as before.
    expect((await create(token, null, 'retried-org')).errors?.[0]?.extensions?.code).toBe('CONFLICT');
    // The key with other arguments is refused; another user's key space is their own.
    const reused = await create(token, 'k-123', 'another-slug');
    expect(reused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'idempotencyKey' });
    const racing = await Promise.all([1, 2, 3, 4].map(() => create(token, 'k-race', 'raced-org')));
    const ids = new Set(racing.map((r) => r.data?.createOrganization.id));
    expect([ids.size, racing.every((r) => r.errors === undefined)]).toEqual([1, true]);
  });
});

describe('the database goes away', () => {
  let platform: TestPlatform;
  let proxy: Awaited<ReturnType<typeof tcpProxy>>;
  const { lines, logger } = recordingLogger();

  /** A TCP proxy in front of the database that the test can cut. */
  async function tcpProxy(target: URL) {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      for (const s of [client, upstream]) s.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      port: (server.address() as net.AddressInfo).port,
      cut() {
        server.close();
        for (const socket of sockets) socket.destroy();
      },
    };
  }

  beforeAll(async () => {
    const database = await createEmptyDatabase();
    const target = new URL(database.url);
    proxy = await tcpProxy(target);
    const proxied = new URL(database.url);
    proxied.port = String(proxy.port);
    platform = await startTestPlatform(
      { ...databaseEnv({ ...database, url: proxied.toString() }), DB_STATEMENT_TIMEOUT_SECONDS: '2' },
      {
        logger,
        reuse: {
          database,
          dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-fault-')),
          storePrefix: testStorePrefix(),
        },
      },
    );
  });
  afterAll(() => platform?.close());

  it('answers SERVICE_UNAVAILABLE naming the database, within the timeouts, logged once per request', async () => {
    expect((await gql(platform.gatewayUrl, '{ plans { id } }')).status).toBe(200);
    proxy.cut();
    const before = lines.length;
    const started = Date.now();
    const result = await gql(platform.gatewayUrl, '{ plans { id } }');
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(result.status).toBe(503);
    expect(result.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    const logged = lines.slice(before).filter((l) => l.level >= 50);
    expect(logged.map((l) => [l.msg, l.dependency])).toEqual([['dependency unavailable', 'database']]);
  }, 30_000);
});

const hasRedis = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.runIf(hasRedis)('Redis goes away (a Redis this test starts and kills)', () => {
  let redis: ChildProcess;
  let port: number;
  let platform: TestPlatform;
  const { lines, logger } = recordingLogger();

  async function startRedis() {
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    for (let i = 0; i < 100; i += 1) {
      const up = await new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
      if (up) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('redis-server did not start');
  }

  beforeAll(async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    port = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    await startRedis();
    platform = await startTestPlatform({ REDIS_URL: `redis://127.0.0.1:${port}` }, { logger });
  });
  afterAll(async () => {
    await platform?.close();
    redis?.kill('SIGKILL');
  });

  it('refuses fast with SERVICE_UNAVAILABLE and a log line while Redis is down; recovers when it is back', async () => {
    const client = await registerClient(platform.gatewayUrl, 'rita.redis@r.example');
    expect((await gql(platform.gatewayUrl, '{ me { id } }', { token: client })).status).toBe(200);
    redis.kill('SIGKILL');
    await new Promise((resolve) => redis.once('exit', resolve));
    const before = lines.length;
    for (const request of [
      () => gql(platform.gatewayUrl, '{ me { id } }', { token: client.accessToken }),
      () =>
        gql(
          platform.gatewayUrl,
          'mutation { login(input: { email: "rita.redis@r.example", password: "x" }) { accessToken } }',
        ),
    ]) {
      // Fail closed fast: the quickest of three refusals within 100 ms (the best of several, not one timing, on
      // a shared machine), none slower than a second.
      let fastest = Infinity;
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const started = performance.now();
        const result = await request();
        const elapsed = performance.now() - started;
        fastest = Math.min(fastest, elapsed);
        expect(elapsed).toBeLessThan(1_000);
        expect(result.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
        expect(result.status).toBe(503);
      }
      expect(fastest).toBeLessThan(100);
    }
    // One log line per refused request (six of them), with its request id (background jobs log apart).
    const logged = lines.slice(before).filter((l) => l.level >= 50 && typeof l.requestId === 'string');
    expect(new Set(logged.map((l) => l.requestId)).size).toBe(6);
    expect(logged).toHaveLength(6);
    // Back, empty: the owners refill the security state, then valid tokens work again.
    await startRedis();
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await gql(platform.gatewayUrl, '{ me { id } }', { token: client.accessToken })).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status).toBe(200);
  }, 60_000);
});

describe('kill -9 in a burst of registrations', () => {
  it('every committed account has its verification mail (they commit together)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-kill-'));
    // PostgreSQL: the child uses the test database; embedded: the child owns PGlite in its data directory (as
    // `npm start` does), and the test opens it after the kill.
    const database = testConfig.DATABASE_URL ? await createEmptyDatabase() : null;
    const child = spawn(process.execPath, ['--import', 'tsx', 'platform/src/main.ts'], {
      cwd: repoRoot,
      env: childEnv({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        DATA_DIR: dataDir,
        ...(database ? databaseEnv(database) : {}),
        ...(testConfig.REDIS_URL ? { REDIS_URL: testConfig.REDIS_URL, STORE_PREFIX: testStorePrefix() } : {}),
        ...RANDOM_PORTS_ENV,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        MAIL_IP_LIMIT: '100000',
        RATE_LIMIT_PER_IP: '1000000',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let url = '';
    try {
      url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          const match = /ready: (http:\/\/\S+)/.exec(out);
          if (match?.[1]) resolve(match[1]);
        });
        child.on('exit', (code) => reject(new Error(`platform exited (${code}) before it was ready`)));
      });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      const registrations = Array.from({ length: 50 }, (_, i) =>
        gql(url, 'mutation($i: RegisterInput!) { register(input: $i) { message } }', {
          variables: {
            i: {
              email: `burst${i}@k.example`,
              password: 'a long enough passphrase',
              firstName: 'Burst',
              lastName: `No${i}`,
              acceptTerms: true,
              acceptPrivacyPolicy: true,
              gdprConsent: true,
            },
          },
        }).catch(() => null),
      );
      // Kill once the first accounts exist: mid-burst.
      const firstAnswer = await Promise.race(registrations);
      expect(firstAnswer).not.toBeNull();
      child.kill('SIGKILL');
      await exited;
      await Promise.all(registrations);
    } finally {
      child.kill('SIGKILL');
    }
    const embedded = database ? null : await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'pglite') });
    const db = new pg.Client({ connectionString: database?.url ?? embedded?.url });
    await db.connect();
    try {
      const { rows } = await db.query<{ email: string; mails: number }>(
        `SELECT u.email, (SELECT count(*)::int FROM mail.mail_outbox m WHERE m.to = u.email AND m.kind = 'verify_email') AS mails
         FROM identity.users u WHERE u.email LIKE 'burst%'`,
      );
      // Some registrations committed before the kill (else the test proves nothing), none without its mail.
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.filter((r) => r.mails === 0)).toEqual([]);
    } finally {
      await db.end();
      await embedded?.stop();
      await database?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('SIGTERM under load', () => {
  it('finishes every request already sent (100 concurrent logins), then exits 0', async () => {
    const database = await createEmptyDatabase();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-sigterm-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'platform/src/main.ts'], {
      cwd: repoRoot,
      env: childEnv({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        DATA_DIR: dataDir,
        ...databaseEnv(database),
        ...(testConfig.REDIS_URL ? { REDIS_URL: testConfig.REDIS_URL, STORE_PREFIX: testStorePrefix() } : {}),
        ...RANDOM_PORTS_ENV,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        LOGIN_MAX_FAILURES: '100',
        LOGIN_IP_LIMIT: '100000',
        RATE_LIMIT_PER_IP: '1000000',
        SHUTDOWN_DRAIN_SECONDS: '1',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          const match = /ready: (http:\/\/\S+)/.exec(out);
          if (match?.[1]) resolve(match[1]);
        });
        child.on('exit', (code) => reject(new Error(`platform exited (${code}) before it was ready`)));
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const logins = Array.from({ length: 100 }, () =>
        gql<{ login: { accessToken: string } }>(url, 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', {
          variables: { i: { email: ADMIN.email, password: ADMIN.password } },
        }).catch((error: unknown) => ({
          status: 0,
          error: `${String(error)} ${String((error as { cause?: unknown }).cause)}`,
        })),
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
      child.kill('SIGTERM');
      const results = await Promise.all(logins);
      const failed = results.filter((r) => r.status !== 200 || !('data' in r) || !r.data?.login.accessToken);
      expect(failed).toEqual([]);
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
