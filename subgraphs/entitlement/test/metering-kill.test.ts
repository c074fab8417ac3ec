// Nothing answered is lost, nothing is counted twice, when a process dies with SIGKILL in the middle of 1,000
// invocations: the whole invoking process (its answered invocations were committed to the event log before they
// were answered; the client retries the rest with the same idempotency keys), and entitlement's usage consumer
// (each delivery is handled in the transaction that marks it delivered). On PostgreSQL (+ Redis when set), and
// with the embedded database, where the restarted process also meets an empty in-process store.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { createDatabase, type Database, startEmbeddedPostgres } from '@g3d/db';
import { invocationIdFor, UsageMeter } from '@g3d/entitlement-client';
import { EventConsumer } from '@g3d/events';
import { createLogger } from '@g3d/kit';
import { createStore, MemoryStore, type Store } from '@g3d/store';
import { childEnv, createTestDatabase, testConfig, testStorePrefix } from '@g3d/testkit';
import { describe, expect, it } from 'vitest';

import { createEntitlementServices, seedPlans } from '../src/index.ts';
import { member } from './support.ts';

const CHILD = path.resolve(import.meta.dirname, 'fixtures/metering-child.ts');
const TOTAL = 1000;
const keys = Array.from({ length: TOTAL }, (_, i) => `kill-${i}`);

interface Child {
  lines: () => string[];
  kill(): Promise<void>;
  waitFor(predicate: () => boolean, what: string): Promise<void>;
}

function start(env: Record<string, string>): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  return {
    lines: () => stdout.split('\n').filter(Boolean),
    async kill() {
      proc.kill('SIGKILL');
      await exited;
    },
    async waitFor(predicate, what) {
      const deadline = Date.now() + 120_000;
      while (!predicate()) {
        if (proc.exitCode !== null || Date.now() > deadline)
          throw new Error(`child: no ${what}: ${stderr.slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}

const answered = (file: string) =>
  fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];

async function ledger(db: Database, organizationId: string) {
  const { rows } = await db.pool.query<{ invocation_id: string }>(
    'SELECT invocation_id FROM entitlement.usage_records WHERE organization_id = $1',
    [organizationId],
  );
  return new Set(rows.map((r) => r.invocation_id));
}

/** After the kill: the client retries what it did not see answered; entitlement catches up; the ledger is exact. */
async function finish(options: { db: Database; store: Store; organizationId: string; userId: string; out: string }) {
  const { db, store, organizationId, userId } = options;
  const logger = createLogger({ level: 'silent' });
  const services = createEntitlementServices({ db, store, logger });
  const listener = services.sync.listener();
  await listener.start();
  try {
    const { createEntitlementDecider, createInvocationGate } = await import('@g3d/entitlement-client');
    // The first refresh after the kill reconciles the counters from the whole ledger on a recovering database:
    // a generous wait, as the killed process had (the test is about exactness, not refresh latency).
    const gate = createInvocationGate({
      decider: createEntitlementDecider({ store, refreshTimeoutMs: 20_000 }),
      meter: new UsageMeter({ db }),
    });
    const seen = answered(options.out);
    const caller = { ...member(organizationId), userId };
    const retry = keys.filter((k) => !seen.includes(k));
    for (let i = 0; i < retry.length; i += 50) {
      await Promise.all(
        retry
          .slice(i, i + 50)
          .map((key) =>
            gate.invoke(
              caller,
              { service: 'chat-builder', operation: 'kill-test', units: 1, idempotencyKey: key },
              async () => 'ok',
            ),
          ),
      );
    }
    const consumer = new EventConsumer({ db, consumer: 'entitlement', handlers: [services.usageHandler], logger });
    while ((await consumer.drain()) > 0);
    const rows = await ledger(db, organizationId);
    const idOf = (key: string) => invocationIdFor([organizationId, userId, 'chat-builder', 'kill-test', key]);
    expect(rows.size).toBe(TOTAL);
    expect(seen.every((key) => rows.has(idOf(key)))).toBe(true);
    expect(keys.every((key) => rows.has(idOf(key)))).toBe(true);
    return { seen, services };
  } finally {
    await listener.stop();
  }
}

describe('a process killed in the middle of 1,000 invocations', () => {
  it.runIf(testConfig.DATABASE_URL)(
    'PostgreSQL: the ledger holds exactly 1,000 rows, every answered one among them',
    async () => {
      const database = await createTestDatabase();
      const db = createDatabase({ url: database.url, poolMax: 4 });
      const prefix = testStorePrefix();
      const store = await createStore({ redisUrl: testConfig.REDIS_URL, prefix });
      const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-kill-')), 'answered');
      const organizationId = randomUUID();
      const userId = randomUUID();
      try {
        await seedPlans(db);
        const child = start({
          METERING_DB_URL: database.url,
          ...(testConfig.REDIS_URL ? { METERING_REDIS_URL: testConfig.REDIS_URL } : {}),
          METERING_PREFIX: prefix,
          METERING_MODE: 'invoke',
          METERING_SETUP: '1',
          METERING_ORG: organizationId,
          METERING_USER: userId,
          METERING_KEYS: keys.join(','),
          METERING_OUT: out,
        });
        await child.waitFor(() => answered(out).length >= 300, '300 answered invocations');
        await child.kill();
        const seen = answered(out).length;
        expect(seen).toBeLessThan(TOTAL);
        // With Redis, the store kept the killed process's decisions: retries are replays, counted once.
        const { services } = await finish({ db, store, organizationId, userId, out });
        if (testConfig.REDIS_URL) {
          const view = await services.access.entitlements(organizationId);
          expect(view.usage.services['chat-builder']).toEqual({ requests: TOTAL, units: TOTAL });
        }
      } finally {
        await store.close();
        await db.close();
        await database.drop();
      }
    },
  );

  it.runIf(!testConfig.DATABASE_URL)(
    'embedded PGlite and the in-process store, restarted empty: exactly 1,000 rows, counters from the ledger',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-kill-pglite-'));
      const dataDir = path.join(dir, 'pglite');
      const out = path.join(dir, 'answered');
      const organizationId = randomUUID();
      const userId = randomUUID();
      const child = start({
        METERING_DATA_DIR: dataDir,
        METERING_MODE: 'invoke',
        METERING_SETUP: '1',
        METERING_ORG: organizationId,
        METERING_USER: userId,
        METERING_KEYS: keys.join(','),
        METERING_OUT: out,
      });
      await child.waitFor(() => answered(out).length >= 300, '300 answered invocations');
      await child.kill();
      const embedded = await startEmbeddedPostgres({ dataDir });
      const db = createDatabase({ url: embedded.url, poolMax: 1 });
      const store = new MemoryStore(testStorePrefix());
      try {
        const { services } = await finish({ db, store, organizationId, userId, out });
        // The restarted store began empty: its counters came back from the ledger, not from zero.
        const view = await services.access.entitlements(organizationId);
        expect(view.usage.services['chat-builder']?.requests).toBeGreaterThanOrEqual(TOTAL);
      } finally {
        await db.close();
        await store.close();
        await embedded.stop();
      }
    },
  );
});

describe("entitlement's usage consumer killed while handling 1,000 usage events", () => {
  it.runIf(testConfig.DATABASE_URL)(
    'PostgreSQL: after a restart the ledger holds each invocation exactly once',
    async () => {
      const database = await createTestDatabase();
      const db = createDatabase({ url: database.url, poolMax: 4 });
      const organizationId = randomUUID();
      try {
        // 1,000 answered invocations, one event each (the worst case for the consumer).
        const meter = new UsageMeter({ db, maxBatch: 1 });
        await Promise.all(
          Array.from({ length: TOTAL }, () =>
            meter.record({
              invocationId: randomUUID(),
              organizationId,
              userId: randomUUID(),
              apiKeyId: null,
              callerKind: 'user',
              service: 'chat-builder',
              operation: 'kill-test',
              units: 1,
              status: 'ALLOWED',
              reason: null,
              succeeded: true,
              latencyMs: 1,
              occurredAt: new Date().toISOString(),
              periodStart: new Date().toISOString(),
              periodEnd: new Date(Date.now() + 86_400_000).toISOString(),
              thresholds: [],
            }),
          ),
        );
        const child = start({ METERING_DB_URL: database.url, METERING_MODE: 'consume' });
        await child.waitFor(() => child.lines().length >= 300, '300 handled deliveries');
        await child.kill();
        const handled = (await ledger(db, organizationId)).size;
        expect(handled).toBeGreaterThanOrEqual(300);
        expect(handled).toBeLessThan(TOTAL);
        const services = createEntitlementServices({
          db,
          store: new MemoryStore('x:'),
          logger: createLogger({ level: 'silent' }),
        });
        const consumer = new EventConsumer({
          db,
          consumer: 'entitlement',
          handlers: [services.usageHandler],
          logger: createLogger({ level: 'silent' }),
        });
        while ((await consumer.drain()) > 0);
        expect((await ledger(db, organizationId)).size).toBe(TOTAL);
        const { rows } = await db.pool.query(
          `SELECT status, count(*)::int AS n FROM events.event_deliveries WHERE consumer = 'entitlement' GROUP BY status`,
        );
        expect(rows).toEqual([{ status: 'delivered', n: TOTAL }]);
      } finally {
        await db.close();
        await database.drop();
      }
    },
  );
});
