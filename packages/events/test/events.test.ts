// The platform event log on a real database: publishing is part of the producer's transaction; consumers claim
// deliveries with SKIP LOCKED and handle each in the claiming transaction, so database effects happen exactly
// once even with competing replicas, failures (retried, then dead-lettered) and a consumer killed mid-way.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { membershipChanged, userErased } from '@g3d/contracts';
import { applyMigrations, createDatabase, type Database, startEmbeddedPostgres } from '@g3d/db';
import { EventConsumer, type EventHandler, onEvent, publishEvent } from '@g3d/events';
import { childEnv, createTestDatabase, testConfig, type TestDatabase } from '@g3d/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

let database: TestDatabase;
let db: Database;
const logs: { level: string; message: string }[] = [];
const logger = {
  info: (_o: object, message: string) => logs.push({ level: 'info', message }),
  warn: (_o: object, message: string) => logs.push({ level: 'warn', message }),
  error: (_o: object, message: string) => logs.push({ level: 'error', message }),
};

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase({ url: database.url, poolMax: database.kind === 'pglite' ? 1 : 4 });
  await db.pool.query('CREATE TABLE public.event_test_effects (event_id uuid NOT NULL, handled_by text)');
});
afterAll(async () => {
  await db.close();
  await database.drop();
});
beforeEach(async () => {
  await db.pool.query('DELETE FROM events.event_log');
  await db.pool.query('DELETE FROM public.event_test_effects');
  logs.length = 0;
});

const publish = (userId = randomUUID()) =>
  db.prisma.$transaction((tx) => publishEvent(tx, 'identity', userErased, { userId }));

/** A handler that records its effect with the claiming transaction. */
const recording = (name: string, extra?: () => Promise<void>): EventHandler =>
  onEvent(userErased, async (_payload, { tx, eventId }) => {
    await tx.$executeRawUnsafe(`INSERT INTO public.event_test_effects VALUES ('${eventId}', '${name}')`);
    await extra?.();
  });

const consumer = (handlers: EventHandler[], options: Partial<ConstructorParameters<typeof EventConsumer>[0]> = {}) =>
  new EventConsumer({ db, consumer: 'organization', handlers, logger, ...options });

async function effects(): Promise<Map<string, number>> {
  const { rows } = await db.pool.query<{ event_id: string; n: number }>(
    'SELECT event_id, count(*)::int AS n FROM public.event_test_effects GROUP BY event_id',
  );
  return new Map(rows.map((r) => [r.event_id, r.n]));
}

async function delivery(eventId: string) {
  const { rows } = await db.pool.query<{ status: string; attempts: number; last_error: string | null }>(
    `SELECT status, attempts, last_error FROM events.event_deliveries WHERE event_id = $1 AND consumer = 'organization'`,
    [eventId],
  );
  return rows[0];
}

describe('publishing', () => {
  it('writes the event and one pending delivery per consuming service of the manifest', async () => {
    const id = await publish();
    const { rows } = await db.pool.query<{ consumer: string; status: string }>(
      'SELECT consumer, status FROM events.event_deliveries WHERE event_id = $1',
      [id],
    );
    expect(rows).toEqual([{ consumer: 'organization', status: 'pending' }]);
  });

  it('is part of the transaction: rolled back with it', async () => {
    await expect(
      db.prisma.$transaction(async (tx) => {
        await publishEvent(tx, 'identity', userErased, { userId: randomUUID() });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect((await db.pool.query('SELECT 1 FROM events.event_log')).rowCount).toBe(0);
  });

  it('refuses a payload that breaks the contract and a producer that does not declare the topic', async () => {
    await expect(
      db.prisma.$transaction((tx) => publishEvent(tx, 'identity', userErased, { userId: 'not-a-uuid' })),
    ).rejects.toThrow();
    await expect(
      db.prisma.$transaction((tx) => publishEvent(tx, 'identity', membershipChanged, {} as never)),
    ).rejects.toThrow(/does not declare/);
  });
});

describe('consuming', () => {
  it('handles each delivery once and marks it delivered', async () => {
    const ids = [await publish(), await publish(), await publish()];
    expect(await consumer([recording('a')]).drain()).toBe(3);
    expect(await consumer([recording('a')]).drain()).toBe(0);
    const seen = await effects();
    for (const id of ids) {
      expect(seen.get(id)).toBe(1);
      expect(await delivery(id)).toMatchObject({ status: 'delivered', attempts: 1 });
    }
  });

  it('rolls a failing handler back, retries with backoff, then keeps a dead letter and logs it', async () => {
    const id = await publish();
    let calls = 0;
    const failing = recording('f', async () => {
      calls += 1;
      throw new Error(`upstream refused (${calls})`);
    });
    const c = consumer([failing], { maxAttempts: 3 });
    expect(await c.drain()).toBe(1);
    expect(await delivery(id)).toMatchObject({ status: 'pending', attempts: 1, last_error: 'upstream refused (1)' });
    expect(await c.drain()).toBe(0); // not before its retry time
    for (let attempt = 2; attempt <= 3; attempt += 1) {
      await db.pool.query(`UPDATE events.event_deliveries SET next_attempt_at = now() WHERE event_id = $1`, [id]);
      await c.drain();
    }
    expect(await delivery(id)).toMatchObject({ status: 'dead', attempts: 3, last_error: 'upstream refused (3)' });
    expect((await effects()).get(id)).toBeUndefined(); // every failed attempt was rolled back
    expect(logs.filter((l) => l.level === 'warn')).toHaveLength(2);
    expect(logs.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
      'event delivery failed for good: kept as a dead letter',
    ]);
  });

  it('dead-letters a delivery it can never handle (invalid payload) at once', async () => {
    const id = await publish();
    await db.pool.query(`UPDATE events.event_log SET payload = '{"userId": 42}' WHERE id = $1`, [id]);
    await consumer([recording('a')]).drain();
    expect(await delivery(id)).toMatchObject({ status: 'dead', attempts: 1 });
  });

  it('two replicas draining the same deliveries handle each exactly once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 60; i += 1) ids.push(await publish());
    const slow = (name: string) => recording(name, () => new Promise((r) => setTimeout(r, 2)));
    const [a, b] = await Promise.all([consumer([slow('a')]).drain(), consumer([slow('b')]).drain()]);
    expect(a + b).toBe(60);
    const seen = await effects();
    expect(ids.every((id) => seen.get(id) === 1)).toBe(true);
    if (database.kind === 'postgres') expect(Math.min(a, b)).toBeGreaterThan(0); // both took part
  });
});

describe('a consumer killed while handling', () => {
  const child = path.resolve(import.meta.dirname, 'fixtures/consumer-child.ts');

  async function runChildUntilHandling(env: Record<string, string>): Promise<string> {
    const signal = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-events-')), 'handling');
    const proc = spawn(process.execPath, ['--import', 'tsx', child], {
      env: childEnv({ ...env, EVENTS_TEST_SIGNAL: signal }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
    const deadline = Date.now() + 60_000;
    while (!fs.existsSync(signal)) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`child did not start handling: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    proc.kill('SIGKILL');
    await exited;
    return fs.readFileSync(signal, 'utf8');
  }

  it.runIf(testConfig.DATABASE_URL)(
    'PostgreSQL: the delivery is claimed again and its effect happens exactly once',
    async () => {
      const id = await publish();
      expect(await runChildUntilHandling({ EVENTS_TEST_DB_URL: database.url })).toBe(id);
      expect(await consumer([recording('parent')]).drain()).toBe(1);
      expect(await effects()).toEqual(new Map([[id, 1]]));
      expect(await delivery(id)).toMatchObject({ status: 'delivered', attempts: 1 });
    },
  );

  it.runIf(!testConfig.DATABASE_URL)(
    'embedded PGlite: after the whole process is killed and restarted, the event is delivered exactly once',
    async () => {
      const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-events-pglite-')), 'pglite');
      const userId = randomUUID();
      const eventId = await runChildUntilHandling({ EVENTS_TEST_DATA_DIR: dataDir, EVENTS_TEST_USER: userId });
      const embedded = await startEmbeddedPostgres({ dataDir });
      const restarted = createDatabase({ url: embedded.url, poolMax: 1 });
      try {
        await applyMigrations(embedded.url);
        const before = await restarted.pool.query('SELECT 1 FROM public.event_test_effects');
        expect(before.rowCount).toBe(0); // the killed handler's effect was never committed
        const again = new EventConsumer({
          db: restarted,
          consumer: 'organization',
          logger,
          handlers: [
            onEvent(userErased, async (payload, { tx, eventId: handled }) => {
              expect(payload.userId).toBe(userId);
              await tx.$executeRawUnsafe(`INSERT INTO public.event_test_effects VALUES ('${handled}', 'restart')`);
            }),
          ],
        });
        expect(await again.drain()).toBe(1);
        const { rows } = await restarted.pool.query<{ event_id: string }>(
          'SELECT event_id FROM public.event_test_effects',
        );
        expect(rows).toEqual([{ event_id: eventId }]);
      } finally {
        await restarted.close();
        await embedded.stop();
      }
    },
  );
});
