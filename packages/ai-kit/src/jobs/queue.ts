// Durable jobs of one AI service. A mutation submits a job (QUEUED) and answers at once; a runner in every replica
// claims queued jobs with a lease (FOR UPDATE SKIP LOCKED, see sql.ts), runs the operation's handler and writes the
// outcome only while it still holds the lease. While a job runs, its runner extends the lease every leaseMs/3 and
// reads the job's cancel flag (also between heartbeats, every poll), so `cancel` on any replica aborts the handler's
// signal within a poll interval. A replica that dies leaves a lease that expires: another claims the job again,
// until maxAttempts claims were interrupted (FAILED ABANDONED). Nothing runs on two replicas at once for longer than
// it takes the first to notice it lost its lease.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

import type { Database } from '@g3d/db';

import * as sql from './sql.ts';
import {
  isUuid,
  type JobHandler,
  type JobLogger,
  type JobRecord,
  type JobRow,
  type JobSubmission,
  toJobError,
  toJobRecord,
} from './types.ts';

export interface JobQueueOptions {
  db: Database;
  /** The AI service's slug: this queue submits and claims only its jobs. */
  service: string;
  /** This replica's id in lease_owner. Default: host, pid and a random suffix. */
  owner?: string;
  /** How long a claim holds without a heartbeat. Default 30 s. */
  leaseMs?: number;
  logger?: JobLogger;
  /** The handler of each operation; a replica claims only jobs it has a handler for. */
  handlers: Record<string, JobHandler>;
  /** Jobs this replica runs at once. Default 2. */
  concurrency?: number;
  /** Called after every change of a job's state (submitted, claimed, progress, finished, cancelled, released). */
  onUpdate?: (job: JobRecord) => void;
}

/** Why this replica stopped a running handler: a cancel, its lease taken over, or a graceful stop. */
type Interruption = 'cancelled' | 'lease-lost' | 'released';

interface RunningJob {
  job: JobRecord;
  controller: AbortController;
  interruption: Interruption | null;
  /** The handler has returned: its outcome is being written, no more interruptions. */
  settling: boolean;
  /** performance.now() after which the lease may have expired unless a heartbeat extended it (local, monotonic). */
  leaseDeadline: number;
  /** Writes in flight on its behalf outside the handler (cancel, throttled progress): awaited before it ends. */
  writes: Set<Promise<unknown>>;
  pendingProgress: number | null;
  lastProgressAt: number;
  progressTimer: NodeJS.Timeout | null;
}

const STOP_GRACE_MS = 5_000;
const PROGRESS_INTERVAL_MS = 250;
const silent: JobLogger = { info() {}, warn() {}, error() {} };

export class JobQueue {
  private readonly owner: string;
  private readonly leaseMs: number;
  private readonly concurrency: number;
  private readonly logger: JobLogger;
  private readonly running = new Map<string, RunningJob>();
  private readonly tasks = new Set<Promise<void>>();
  private claims: Promise<unknown> = Promise.resolve();
  private pollTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private beating = false;
  private stopped = false;

  constructor(private readonly options: JobQueueOptions) {
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.concurrency = options.concurrency ?? 2;
    this.logger = options.logger ?? silent;
  }

  /** Queues a job; the same invocationId again returns the job it created. */
  async submit(submission: JobSubmission): Promise<JobRecord> {
    const { service } = this.options;
    if (!Object.hasOwn(this.options.handlers, submission.operation)) {
      throw new Error(`${service} has no job handler for ${submission.operation}`);
    }
    const maxAttempts = submission.maxAttempts ?? 3;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error('maxAttempts must be a positive integer');
    const { rows } = await this.query(sql.SUBMIT, [
      service,
      submission.operation,
      submission.organizationId,
      submission.userId,
      submission.apiKeyId ?? null,
      submission.invocationId,
      JSON.stringify(submission.input ?? null),
      maxAttempts,
    ]);
    if (rows[0]) return this.updated(rows[0]);
    const existing = (await this.query(sql.BY_INVOCATION, [submission.invocationId])).rows[0];
    if (!existing) throw new Error(`job of invocation ${submission.invocationId} vanished`);
    // An invocation id is the caller's usage record: never hand another organization's job back.
    if (existing.service !== service || existing.organization_id !== submission.organizationId.toLowerCase()) {
      throw new Error(`invocation ${submission.invocationId} already has a job of another service or organization`);
    }
    return toJobRecord(existing);
  }

  /** The job, if it belongs to this service and the organization; otherwise (or for a malformed id) null. */
  async get(id: string, scope: { organizationId: string }): Promise<JobRecord | null> {
    if (!isUuid(id) || !isUuid(scope.organizationId)) return null;
    const { rows } = await this.query(sql.GET, [id, scope.organizationId, this.options.service]);
    return rows[0] ? toJobRecord(rows[0]) : null;
  }

  /**
   * Cancels a job: a queued one at once; a running one is flagged and its runner (on whichever replica) aborts it and
   * marks it CANCELLED. A finished job is returned unchanged; null when invisible to the organization.
   */
  async cancel(id: string, scope: { organizationId: string }): Promise<JobRecord | null> {
    if (!isUuid(id) || !isUuid(scope.organizationId)) return null;
    const { rows } = await this.query(sql.CANCEL, [id, scope.organizationId, this.options.service]);
    const row = rows[0];
    if (!row) return this.get(id, scope);
    const job = this.updated(row);
    const local = this.running.get(id);
    if (job.status === 'RUNNING' && local) return (await this.interrupt(local, 'cancelled')) ?? job;
    return job;
  }

  /** Claims as many jobs as there are free slots and starts them; returns how many it started. */
  runOnce(): Promise<number> {
    // One claim at a time per replica: two overlapping claims would both see the same free slots.
    const run = this.claims.then(() => this.claim());
    this.claims = run.catch(() => {});
    return run;
  }

  /** Polls for jobs every pollIntervalMs and keeps the leases of running ones alive. */
  start(pollIntervalMs = 500): void {
    if (this.pollTimer || this.ticking) return;
    this.stopped = false;
    const tick = () => {
      const failed = (error: unknown) =>
        this.logger.error({ err: error, service: this.options.service }, 'job runner poll failed');
      this.ticking = this.watch(sql.WATCH)
        .catch(failed)
        .then(() => this.runOnce())
        .then(() => {}, failed)
        .finally(() => {
          this.ticking = null;
          if (!this.stopped) this.pollTimer = setTimeout(tick, pollIntervalMs).unref();
        });
    };
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), Math.max(10, this.leaseMs / 3)).unref();
    tick();
  }

  /**
   * Stops polling and hands the running jobs back to the queue (another replica resumes them at once), aborting their
   * handlers' signals so the upstream work stops here; resolves when they have settled, or after a grace period.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.pollTimer = this.heartbeatTimer = null;
    await this.ticking;
    await this.claims;
    const active = [...this.running.values()].filter((r) => !r.settling && !r.interruption);
    if (active.length > 0) {
      try {
        const { rows } = await this.query(sql.RELEASE, [active.map((r) => r.job.id), this.owner]);
        for (const row of rows) this.updated(row);
        if (rows.length) this.logger.info({ service: this.options.service, jobs: rows.length }, 'jobs released');
      } catch (error) {
        // Their leases expire instead: another replica resumes them a little later.
        this.logger.warn({ err: error, service: this.options.service }, 'could not release running jobs');
      }
      // Released or not, this replica no longer owns them: stop the work here.
      for (const r of active) if (!r.interruption) this.abort(r, 'released');
    }
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS).unref()));
    await Promise.race([this.settled(), grace]);
    clearTimeout(timer);
  }

  /** Resolves when every handler started so far has settled and its outcome is written. */
  async settled(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  private async claim(): Promise<number> {
    const free = this.concurrency - this.running.size;
    if (this.stopped || free <= 0) return 0;
    const { service } = this.options;
    for (const row of (await this.query(sql.REAP, [service])).rows) {
      const job = this.updated(row);
      this.logger.warn({ service, jobId: job.id, attempts: job.attempts, status: job.status }, 'job abandoned');
    }
    const sentAt = performance.now();
    const operations = Object.keys(this.options.handlers);
    const { rows } = await this.query(sql.CLAIM, [service, operations, this.owner, this.leaseMs, free]);
    for (const row of rows) this.launch(this.updated(row), sentAt + this.leaseMs);
    return rows.length;
  }

  private launch(job: JobRecord, leaseDeadline: number): void {
    if (job.attempts > 1) {
      this.logger.info({ service: job.service, jobId: job.id, attempt: job.attempts }, 'job resumed');
    }
    const entry: RunningJob = {
      job,
      controller: new AbortController(),
      interruption: null,
      settling: false,
      leaseDeadline,
      writes: new Set(),
      pendingProgress: null,
      lastProgressAt: -Infinity,
      progressTimer: null,
    };
    this.running.set(job.id, entry);
    const task = this.execute(entry).finally(() => {
      this.running.delete(job.id);
      this.tasks.delete(task);
    });
    this.tasks.add(task);
  }

  private async execute(entry: RunningJob): Promise<void> {
    const { job } = entry;
    const handler = this.options.handlers[job.operation] as JobHandler;
    let outcome: { status: 'SUCCEEDED' | 'FAILED'; result: unknown; error: unknown };
    try {
      const value = await handler(job.input, {
        signal: entry.controller.signal,
        attempt: job.attempts,
        progress: (fraction) => this.progress(entry, fraction),
      });
      outcome = { status: 'SUCCEEDED', result: JSON.stringify(value ?? null), error: null };
    } catch (error) {
      outcome = { status: 'FAILED', result: null, error };
    }
    entry.settling = true;
    if (entry.progressTimer) clearTimeout(entry.progressTimer);
    try {
      await Promise.allSettled(entry.writes);
      // Interrupted: the cancel was recorded when it happened; a lost or released job belongs to another run.
      if (entry.interruption) return;
      const log = { service: job.service, jobId: job.id, operation: job.operation };
      let error = null;
      if (outcome.status === 'FAILED') {
        const mapped = toJobError(outcome.error);
        error = JSON.stringify(mapped.error);
        if (mapped.expected) this.logger.info({ ...log, code: mapped.error.code }, 'job failed');
        else this.logger.error({ ...log, err: outcome.error }, 'job failed unexpectedly');
      }
      const { rows } = await this.query(sql.FINISH, [job.id, this.owner, outcome.status, outcome.result, error]);
      if (rows[0]) this.updated(rows[0]);
      else this.logger.warn(log, 'job lease lost before it finished: its outcome was dropped');
    } catch (error) {
      // The lease expires and another replica runs the job again.
      this.logger.error({ err: error, service: job.service, jobId: job.id }, 'could not record the job outcome');
    }
  }

  /** Stops a running handler; a cancel is recorded as CANCELLED at once (the handler may take longer to settle). */
  private async interrupt(entry: RunningJob, why: Interruption): Promise<JobRecord | null> {
    if (entry.settling || entry.interruption) return null;
    this.abort(entry, why);
    if (why === 'lease-lost') {
      this.logger.warn({ service: entry.job.service, jobId: entry.job.id }, 'job lease lost: its run was aborted');
      return null;
    }
    const write = this.query(sql.FINISH, [entry.job.id, this.owner, 'CANCELLED', null, null]).then(
      ({ rows }) => (rows[0] ? this.updated(rows[0]) : null),
      (error: unknown) => {
        // Its lease expires; the next claim finds the cancel flag and ends it CANCELLED.
        this.logger.error({ err: error, service: entry.job.service, jobId: entry.job.id }, 'could not cancel job');
        return null;
      },
    );
    this.track(entry, write);
    return write;
  }

  private abort(entry: RunningJob, why: Interruption): void {
    entry.interruption = why;
    const messages = {
      cancelled: 'The job was cancelled.',
      'lease-lost': 'The job is no longer leased to this replica.',
      released: 'The job was handed back to the queue: this replica is stopping.',
    };
    entry.controller.abort(new DOMException(messages[why], 'AbortError'));
  }

  /** Reads (WATCH) or extends (HEARTBEAT) the leases of the running jobs and acts on what it finds. */
  private async watch(statement: string): Promise<void> {
    const active = [...this.running.values()].filter((r) => !r.settling && !r.interruption);
    if (active.length === 0) return;
    const sentAt = performance.now();
    const params = statement === sql.HEARTBEAT ? [this.leaseMs] : [];
    const ids = active.map((r) => r.job.id);
    const { rows } = await this.query<{ id: string; cancel_requested: boolean }>(statement, [
      ids,
      this.owner,
      ...params,
    ]);
    if (this.stopped) return; // stop() hands these jobs back itself
    const held = new Map(rows.map((r) => [r.id, r.cancel_requested]));
    for (const entry of active) {
      const cancelRequested = held.get(entry.job.id);
      if (cancelRequested === undefined) void this.interrupt(entry, 'lease-lost');
      else if (cancelRequested) void this.interrupt(entry, 'cancelled');
      else if (statement === sql.HEARTBEAT) entry.leaseDeadline = sentAt + this.leaseMs;
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      await this.watch(sql.HEARTBEAT);
    } catch (error) {
      this.logger.warn({ err: error, service: this.options.service }, 'job heartbeat failed');
    } finally {
      this.beating = false;
    }
    // Unreachable database: once its lease may have expired another replica may run the job; stop it here.
    for (const entry of this.running.values()) {
      if (entry.leaseDeadline < performance.now()) void this.interrupt(entry, 'lease-lost');
    }
  }

  /** Clamped to 0..1; at most one write per PROGRESS_INTERVAL_MS, the latest value written last. */
  private async progress(entry: RunningJob, fraction: number): Promise<void> {
    if (!Number.isFinite(fraction) || entry.settling || entry.interruption) return;
    entry.pendingProgress = Math.min(1, Math.max(0, fraction));
    const wait = entry.lastProgressAt + PROGRESS_INTERVAL_MS - performance.now();
    if (wait <= 0) return this.flushProgress(entry);
    entry.progressTimer ??= setTimeout(() => {
      entry.progressTimer = null;
      void this.flushProgress(entry);
    }, wait).unref();
  }

  private async flushProgress(entry: RunningJob): Promise<void> {
    const value = entry.pendingProgress;
    if (value === null || entry.settling || entry.interruption) return;
    entry.pendingProgress = null;
    entry.lastProgressAt = performance.now();
    const write = this.query(sql.PROGRESS, [entry.job.id, this.owner, value]).then(
      ({ rows }) => void (rows[0] && this.updated(rows[0])),
      (error: unknown) => this.logger.warn({ err: error, jobId: entry.job.id }, 'could not write job progress'),
    );
    this.track(entry, write);
    await write;
  }

  private track(entry: RunningJob, write: Promise<unknown>): void {
    entry.writes.add(write);
    const done = () => entry.writes.delete(write);
    void write.then(done, done);
  }

  /** Maps a changed row and tells the onUpdate listener. */
  private updated(row: JobRow): JobRecord {
    const job = toJobRecord(row);
    try {
      this.options.onUpdate?.(job);
    } catch (error) {
      this.logger.warn({ err: error, jobId: job.id }, 'job onUpdate listener failed');
    }
    return job;
  }

  private query<R extends object = JobRow>(text: string, values: unknown[]) {
    return this.options.db.pool.query<R & Record<string, unknown>>(text, values);
  }
}
