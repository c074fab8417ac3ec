// The AI wrappers' durable jobs on a real database (PGlite, or PostgreSQL with DATABASE_URL): submitted jobs run
// exactly once across competing replicas, cancels reach the replica running the job, a runner that dies (even
// killed with SIGKILL) leaves a lease that expires so another replica finishes the job, and a job interrupted
// too often is given up instead of left stuck.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { createDatabase, type Database } from '@g3d/db';
import { badUserInput } from '@g3d/errors';
import { childEnv, createTestDatabase, type TestDatabase } from '@g3d/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  GENERIC_JOB_FAILURE,
  type JobHandler,
  JobQueue,
  type JobQueueOptions,
  type JobRecord,
} from '../src/jobs/index.ts';

let database: TestDatabase;
let db: Database;
/** A second pool: the other "replica" talks to the database over its own connections. */
let db2: Database;
const queues: JobQueue[] = [];
const logs: { level: string; message: string }[] = [];
const log = (level: string) => (_o: object, message: string) => logs.push({ level, message });
const logger = { info: log('info'), warn: log('warn'), error: log('error') };
const ORG = randomUUID();
const USER = randomUUID();

beforeAll(async () => {
  database = await createTestDatabase();
  const poolMax = database.kind === 'pglite' ? 1 : 4;
  db = createDatabase({ url: database.url, poolMax });
  db2 = createDatabase({ url: database.url, poolMax });
});
afterAll(async () => {
  await db?.close();
  await db2?.close();
  await database?.drop();
});
beforeEach(async () => {
  await db.pool.query('DELETE FROM ai.jobs');
  logs.length = 0;
});
afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.stop()));
});

function queue(handlers: Record<string, JobHandler>, options: Partial<JobQueueOptions> = {}): JobQueue {
  const q = new JobQueue({ db, service: 'vision-pro', handlers, logger, ...options });
  queues.push(q);
  return q;
}

const submission = (overrides: Record<string, unknown> = {}) => ({
  operation: 'generate',
  organizationId: ORG,
  userId: USER,
  invocationId: randomUUID(),
  input: { prompt: 'a cat' },
  ...overrides,
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `ok` answers true (polled every 20 ms). */
async function until(ok: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${ok.toString()}`);
    await sleep(20);
  }
}

/** A handler that runs until its signal aborts (then rejects with the abort reason), recording both moments. */
function hanging() {
  const started: string[] = [];
  const aborted: { id: unknown; reason: unknown; at: number }[] = [];
  const handler: JobHandler = (input, { signal }) =>
    new Promise((_resolve, reject) => {
      started.push((input as { tag?: string }).tag ?? '');
      signal.addEventListener('abort', () => {
        aborted.push({ id: (input as { tag?: string }).tag, reason: signal.reason, at: Date.now() });
        reject(signal.reason as Error);
      });
    });
  return { handler, started, aborted };
}

/** A promise and its resolve function. */
function gate<T = void>() {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

async function row(id: string) {
  const { rows } = await db.pool.query<{ lease_owner: string | null; lease_until: Date | null; live: boolean }>(
    'SELECT lease_owner, lease_until, lease_until > now() AS live FROM ai.jobs WHERE id = $1',
    [id],
  );
  return rows[0];
}

const expire = (id: string) =>
  db.pool.query(`UPDATE ai.jobs SET lease_until = now() - interval '1 second' WHERE id = $1`, [id]);

describe('submitting and running', () => {
  it('answers QUEUED at once; runOnce runs the handler and stores SUCCEEDED with its result', async () => {
    const updates: JobRecord[] = [];
    const calls: unknown[] = [];
    const q = queue(
      { generate: async (input, { attempt }) => (calls.push({ input, attempt }), { url: 'https://cdn/x.png' }) },
      { onUpdate: (job) => updates.push(job) },
    );
    const job = await q.submit(submission({ apiKeyId: randomUUID() }));
    expect(job).toMatchObject({ status: 'QUEUED', progress: 0, attempts: 0, maxAttempts: 3, result: null });
    expect(await q.runOnce()).toBe(1);
    await q.settled();
    expect(calls).toEqual([{ input: { prompt: 'a cat' }, attempt: 1 }]);
    const done = await q.get(job.id, { organizationId: ORG });
    expect(done).toMatchObject({ status: 'SUCCEEDED', progress: 1, attempts: 1, result: { url: 'https://cdn/x.png' } });
    expect(done?.error).toBeNull();
    expect(done?.startedAt).toBeInstanceOf(Date);
    expect(done?.finishedAt).toBeInstanceOf(Date);
    expect(await row(job.id)).toMatchObject({ lease_owner: null, lease_until: null });
    expect(updates.map((u) => u.status)).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
    expect(await q.runOnce()).toBe(0);
  });

  it('returns the existing job when the same invocation is submitted again (also concurrently)', async () => {
    const q = queue({ generate: async () => null });
    const first = await q.submit(submission({ invocationId: randomUUID() }));
    const again = await q.submit({ ...submission(), invocationId: first.invocationId, input: { other: true } });
    expect(again).toMatchObject({ id: first.id, input: { prompt: 'a cat' } });
    const invocationId = randomUUID();
    const [a, b] = await Promise.all([q.submit(submission({ invocationId })), q.submit(submission({ invocationId }))]);
    expect(a.id).toBe(b.id);
    expect((await db.pool.query('SELECT 1 FROM ai.jobs')).rowCount).toBe(2);
    await expect(q.submit(submission({ invocationId, organizationId: randomUUID() }))).rejects.toThrow(/another/);
    await expect(q.submit(submission({ operation: 'nope' }))).rejects.toThrow(/no job handler/);
  });

  it("hides another organization's (and another service's) jobs from get and cancel; a malformed id is null", async () => {
    const q = queue({ generate: async () => null });
    const job = await q.submit(submission());
    const stranger = { organizationId: randomUUID() };
    expect(await q.get(job.id, stranger)).toBeNull();
    expect(await q.cancel(job.id, stranger)).toBeNull();
    expect(
      await queue({ generate: async () => null }, { service: 'text-ai' }).get(job.id, { organizationId: ORG }),
    ).toBeNull();
    expect(await q.get('not-a-uuid', { organizationId: ORG })).toBeNull();
    expect(await q.cancel('not-a-uuid', { organizationId: ORG })).toBeNull();
    expect(await q.get(job.id, { organizationId: ORG })).toMatchObject({ status: 'QUEUED', cancelRequested: false });
  });

  it('stores FAILED with the code of an expected error, and a masked error (no message, no stack) otherwise', async () => {
    const q = queue({
      refuse: async () => {
        throw badUserInput('The prompt is too long', 'prompt');
      },
      crash: async () => {
        throw new Error('connect ECONNREFUSED 10.0.0.7:8080');
      },
    });
    const refused = await q.submit(submission({ operation: 'refuse' }));
    const crashed = await q.submit(submission({ operation: 'crash' }));
    expect(await q.runOnce()).toBe(2);
    await q.settled();
    expect(await q.get(refused.id, { organizationId: ORG })).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error: { code: 'BAD_USER_INPUT', message: 'The prompt is too long' },
    });
    const failed = await q.get(crashed.id, { organizationId: ORG });
    expect(failed?.error).toEqual({ code: 'INTERNAL_SERVER_ERROR', message: GENERIC_JOB_FAILURE });
    const { rows } = await db.pool.query('SELECT row_to_json(j)::text AS json FROM ai.jobs j');
    expect(JSON.stringify(rows)).not.toMatch(/ECONNREFUSED|stack|\.ts:\d+/);
    expect(logs).toContainEqual({ level: 'error', message: 'job failed unexpectedly' });
  });

  it('two replicas racing for 20 jobs run each exactly once', async () => {
    const runs = new Map<number, string[]>();
    const handler =
      (name: string): JobHandler =>
      async (input) => {
        const n = (input as { n: number }).n;
        runs.set(n, [...(runs.get(n) ?? []), name]);
        await sleep(5);
        return { n, by: name };
      };
    const a = queue({ generate: handler('a') }, { owner: 'replica-a', concurrency: 4 });
    const b = queue({ generate: handler('b') }, { db: db2, owner: 'replica-b', concurrency: 4 });
    for (let n = 0; n < 20; n += 1) await a.submit(submission({ input: { n } }));
    let started = 0;
    while (started < 20) {
      const [x, y] = await Promise.all([a.runOnce(), b.runOnce()]);
      started += x + y;
      await sleep(5);
    }
    await Promise.all([a.settled(), b.settled()]);
    expect([...runs.keys()].sort((x, y) => x - y)).toEqual([...Array(20).keys()]);
    expect([...runs.values()].every((names) => names.length === 1)).toBe(true);
    const { rows } = await db.pool.query<{ status: string; attempts: number; n: number }>(
      'SELECT status, attempts, count(*)::int AS n FROM ai.jobs GROUP BY 1, 2',
    );
    expect(rows).toEqual([{ status: 'SUCCEEDED', attempts: 1, n: 20 }]);
    const by = [...runs.values()].map((names) => names[0]);
    expect(by).toContain('a'); // both replicas took part
    expect(by).toContain('b');
  });
});

describe('cancelling', () => {
  it('cancels a queued job at once (never run); a finished job is returned unchanged', async () => {
    let calls = 0;
    const q = queue({ generate: async () => (calls += 1) });
    const queued = await q.submit(submission());
    const cancelled = await q.cancel(queued.id, { organizationId: ORG });
    expect(cancelled).toMatchObject({ status: 'CANCELLED', cancelRequested: true });
    expect(cancelled?.finishedAt).toBeInstanceOf(Date);
    expect(await q.runOnce()).toBe(0);
    const done = await q.submit(submission());
    await q.runOnce();
    await q.settled();
    expect(await q.cancel(done.id, { organizationId: ORG })).toMatchObject({
      status: 'SUCCEEDED',
      cancelRequested: false,
      result: 1,
    });
    expect(calls).toBe(1);
  });

  it('a cancel on another replica aborts the running handler within a poll and ends CANCELLED', async () => {
    const h = hanging();
    const runner = queue({ generate: h.handler }, { owner: 'runner' });
    const other = queue({ generate: h.handler }, { db: db2, owner: 'other' });
    const job = await other.submit(submission({ input: { tag: 'remote' } }));
    runner.start(); // default poll: 500 ms
    await until(() => h.started.length === 1);
    const t0 = Date.now();
    expect(await other.cancel(job.id, { organizationId: ORG })).toMatchObject({
      status: 'RUNNING',
      cancelRequested: true,
    });
    const read = () => other.get(job.id, { organizationId: ORG });
    await until(async () => (await read())?.status === 'CANCELLED');
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(h.aborted).toMatchObject([{ id: 'remote', reason: { name: 'AbortError' } }]);
    await runner.settled();
    expect(await read()).toMatchObject({ status: 'CANCELLED', error: null, result: null, attempts: 1 });
  });

  it('a cancel on the replica running the job answers CANCELLED at once', async () => {
    const h = hanging();
    const q = queue({ generate: h.handler });
    const job = await q.submit(submission({ input: { tag: 'local' } }));
    await q.runOnce();
    await until(() => h.started.length === 1);
    expect(await q.cancel(job.id, { organizationId: ORG })).toMatchObject({ status: 'CANCELLED' });
    expect(h.aborted).toHaveLength(1);
  });
});

describe('interrupted runners', () => {
  it('a runner whose lease expires (heartbeat stopped) loses the job to another replica, and cannot overwrite it', async () => {
    const late = gate();
    const crashed = queue({ generate: async () => (await late.promise, 'stale') }, { owner: 'crashed', leaseMs: 300 });
    const healthy = queue(
      { generate: async (_input, { attempt }) => ({ by: 'healthy', attempt }) },
      { db: db2, owner: 'healthy' },
    );
    const job = await crashed.submit(submission());
    expect(await crashed.runOnce()).toBe(1); // runOnce alone: no heartbeat extends the 300 ms lease
    expect(await healthy.runOnce()).toBe(0); // still leased
    await until(async () => (await healthy.runOnce()) === 1, 2_000);
    await healthy.settled();
    const expected = { status: 'SUCCEEDED', attempts: 2, result: { by: 'healthy', attempt: 2 } };
    expect(await healthy.get(job.id, { organizationId: ORG })).toMatchObject(expected);
    late.open(); // the first runner wakes up and tries to store its outcome
    await crashed.settled();
    expect(await healthy.get(job.id, { organizationId: ORG })).toMatchObject(expected);
    expect(logs.map((l) => l.message)).toContain('job lease lost before it finished: its outcome was dropped');
  });

  it('gives a job up as FAILED ABANDONED after maxAttempts interrupted runs, or CANCELLED if cancelled meanwhile', async () => {
    const h = hanging();
    const updates: JobRecord[] = [];
    const replica = (owner: string) => queue({ generate: h.handler }, { owner, onUpdate: (j) => updates.push(j) });
    const job = await replica('a').submit(submission({ maxAttempts: 2 }));
    expect(await replica('a').runOnce()).toBe(1);
    await expire(job.id);
    expect(await replica('b').runOnce()).toBe(1);
    await expire(job.id);
    const c = replica('c');
    expect(await c.runOnce()).toBe(0);
    expect(await c.get(job.id, { organizationId: ORG })).toMatchObject({
      status: 'FAILED',
      attempts: 2,
      error: { code: 'ABANDONED', message: 'The job was interrupted 2 times and will not be retried.' },
    });
    expect(updates.at(-1)).toMatchObject({ id: job.id, status: 'FAILED' });

    const other = await c.submit(submission());
    expect(await replica('d').runOnce()).toBe(1);
    expect(await c.cancel(other.id, { organizationId: ORG })).toMatchObject({ status: 'RUNNING' }); // d is not watching
    await expire(other.id);
    expect(await c.runOnce()).toBe(0);
    expect(await c.get(other.id, { organizationId: ORG })).toMatchObject({ status: 'CANCELLED', error: null });
    expect(h.started).toHaveLength(3);
  });

  it('a graceful stop hands the running job back at once; another replica completes it', async () => {
    const h = hanging();
    const stopping = queue({ generate: h.handler }, { owner: 'stopping' });
    const job = await stopping.submit(submission({ input: { tag: 'handed-over' } }));
    stopping.start(50);
    await until(() => h.started.length === 1);
    const t0 = Date.now();
    await stopping.stop();
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(h.aborted).toMatchObject([{ id: 'handed-over', reason: { name: 'AbortError' } }]);
    expect(await stopping.get(job.id, { organizationId: ORG })).toMatchObject({ status: 'QUEUED', attempts: 0 });
    expect(await row(job.id)).toMatchObject({ lease_owner: null, lease_until: null });
    const next = queue({ generate: async () => 'resumed' }, { db: db2, owner: 'next' });
    expect(await next.runOnce()).toBe(1);
    await next.settled();
    expect(await next.get(job.id, { organizationId: ORG })).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 1,
      result: 'resumed',
    });
  });
});

describe('progress', () => {
  it('is clamped to 0..1, throttled (the latest value wins) and visible through get', async () => {
    const reported = gate();
    const more = gate();
    const finish = gate();
    const updates: JobRecord[] = [];
    const q = queue(
      {
        generate: async (_input, { progress }) => {
          await progress(0.1);
          await progress(0.2); // within 250 ms of the last write: only the latest pending value is written
          await progress(0.35);
          reported.open();
          await more.promise;
          await progress(5);
          await finish.promise;
          return 'ok';
        },
      },
      { onUpdate: (job) => updates.push(job) },
    );
    const job = await q.submit(submission());
    await q.runOnce();
    await reported.promise;
    const read = () => q.get(job.id, { organizationId: ORG });
    expect(await read()).toMatchObject({ status: 'RUNNING', progress: 0.1 });
    await until(async () => (await read())?.progress === 0.35, 2_000);
    more.open();
    await until(async () => (await read())?.progress === 1, 2_000);
    expect(await read()).toMatchObject({ status: 'RUNNING' });
    finish.open();
    await q.settled();
    expect(await read()).toMatchObject({ status: 'SUCCEEDED', progress: 1 });
    const running = updates.filter((u) => u.status === 'RUNNING').map((u) => u.progress);
    expect(running).toEqual([0, 0.1, 0.35, 1]);
  });
});

describe('a runner killed with SIGKILL mid-job', () => {
  it('leaves a lease that expires: another replica runs the job again to SUCCEEDED', async () => {
    const leaseMs = 600;
    const signal = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-ai-jobs-')), 'running');
    const parent = queue({ generate: async (_input, { attempt }) => ({ by: 'parent', attempt }) }, { owner: 'parent' });
    const job = await parent.submit(submission());
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.resolve(import.meta.dirname, 'fixtures/job-runner-child.ts')],
      {
        env: childEnv({
          AI_JOBS_TEST_DB_URL: database.url,
          AI_JOBS_TEST_SIGNAL: signal,
          AI_JOBS_TEST_LEASE_MS: String(leaseMs),
        }),
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      await until(() => fs.existsSync(signal) || child.exitCode !== null, 30_000);
      expect(child.exitCode, stderr).toBeNull();
      await sleep(leaseMs * 2); // the child's heartbeats keep the lease beyond its first term
      expect(await row(job.id)).toMatchObject({ lease_owner: 'child', live: true });
      expect(await parent.runOnce()).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const t0 = Date.now();
    await until(async () => (await parent.runOnce()) === 1, leaseMs + 2_000);
    expect(Date.now() - t0).toBeLessThan(leaseMs + 1_000);
    await parent.settled();
    expect(await parent.get(job.id, { organizationId: ORG })).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 2,
      result: { by: 'parent', attempt: 2 },
    });
  });
});
