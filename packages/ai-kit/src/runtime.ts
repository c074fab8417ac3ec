// One wrapper's runtime in a process: the invocation gate (entitlement decision + metering), the upstream
// client (timeouts, retries, circuit breaker), binary inputs, and the job queue of its long operations. The
// module's resolvers reach it through the request context.
import { randomUUID } from 'node:crypto';

import type { Database } from '@g3d/db';
import {
  createEntitlementDecider,
  createInvocationGate,
  type EntitlementSummary,
  type InvocationGate,
  invocationIdFor,
  UsageMeter,
} from '@g3d/entitlement-client';
import { AppError } from '@g3d/errors';
import { type BaseContext, isUuid, type Logger } from '@g3d/kit';
import type { AiServiceFacts } from '@g3d/manifest';
import type { Store } from '@g3d/store';

import { type JobHandler, JobQueue, type JobRecord } from './jobs/index.ts';
import { fetchInputUrl, UpstreamClient } from './upstream/index.ts';
import type { BinaryArgument, InputTools, WrapperDefinition, WrapperOperation } from './wrapper.ts';

export interface AiContext extends BaseContext {
  gate: InvocationGate;
  /** What each decision of this request reported, by service (the response's extensions). */
  entitlements: Map<string, EntitlementSummary>;
  runtime: AiRuntime;
}

export interface RuntimeOptions {
  service: AiServiceFacts;
  wrapper: WrapperDefinition;
  upstream: { url: string; timeoutMs: number; retries: number };
  store: Store;
  db: Database;
  logger: Logger;
  maxInputBytes: number;
  allowHosts: readonly string[];
  jobConcurrency: number;
  circuit: { failureThreshold: number; coolDownMs: number };
  now?: () => number;
}

/** What the job fields show (the stored record; `result` is mapped by the type's resolver). */
export type JobView = Pick<
  JobRecord,
  | 'id'
  | 'operation'
  | 'status'
  | 'progress'
  | 'result'
  | 'error'
  | 'attempts'
  | 'createdAt'
  | 'startedAt'
  | 'finishedAt'
>;

const HEALTH = { ok: 'HEALTHY', unhealthy: 'UNHEALTHY', unreachable: 'UNREACHABLE' } as const;
const CIRCUIT = { closed: 'CLOSED', open: 'OPEN', 'half-open': 'HALF_OPEN' } as const;

export class AiRuntime {
  readonly gate: InvocationGate;
  readonly meter: UsageMeter;
  readonly client: UpstreamClient;
  readonly jobs: JobQueue | null;
  readonly timeoutMs: number;

  constructor(private readonly options: RuntimeOptions) {
    const { service, upstream } = options;
    this.meter = new UsageMeter({ db: options.db });
    const decider = createEntitlementDecider({ store: options.store, ...(options.now ? { now: options.now } : {}) });
    this.gate = createInvocationGate({ decider, meter: this.meter });
    this.timeoutMs = upstream.timeoutMs;
    this.client = new UpstreamClient({
      service: service.slug,
      baseUrl: upstream.url,
      timeoutMs: upstream.timeoutMs,
      retries: upstream.retries,
      healthPath: service.healthPath,
      circuit: options.circuit,
    });
    const handlers: Record<string, JobHandler> = {};
    for (const [name, op] of Object.entries(options.wrapper.operations)) {
      if (op.mode !== 'job') continue;
      handlers[name] = (input, { signal }) =>
        this.client.call(op.upstream ?? name, input, { idempotent: op.idempotent ?? true, signal });
    }
    this.jobs = Object.keys(handlers).length
      ? new JobQueue({
          db: options.db,
          service: service.slug,
          handlers,
          concurrency: options.jobConcurrency,
          logger: options.logger,
        })
      : null;
  }

  /** Inputs of operations: binary arguments inline or fetched from their URL. */
  private tools(): InputTools {
    const { maxInputBytes, allowHosts } = this.options;
    return {
      binary: async (value: BinaryArgument | null | undefined, field: string) => {
        const base64 = typeof value?.base64 === 'string' && value.base64 !== '' ? value.base64 : null;
        const url = typeof value?.url === 'string' && value.url !== '' ? value.url : null;
        if ((base64 === null) === (url === null)) {
          throw new AppError('BAD_USER_INPUT', `${field}: give exactly one of base64 or url`, { field });
        }
        if (base64 !== null) {
          if (Math.floor((base64.length * 3) / 4) > maxInputBytes + 2) {
            throw new AppError('BAD_USER_INPUT', `${field} is larger than ${maxInputBytes} bytes`, {
              field,
              reason: 'INPUT_TOO_LARGE',
            });
          }
          return base64;
        }
        const { bytes } = await fetchInputUrl(url as string, {
          maxBytes: maxInputBytes,
          timeoutMs: Math.min(10_000, this.timeoutMs),
          allowHosts,
        });
        return bytes.toString('base64');
      },
    };
  }

  async callSync(ctx: AiContext, name: string, op: WrapperOperation, args: Record<string, unknown>) {
    const body = await op.input(args, this.tools());
    const answer = await this.client.call(op.upstream ?? name, body, {
      idempotent: op.idempotent ?? true,
      // The gateway stops waiting at its deadline: no retry or wait past it.
      ...(ctx.deadline ? { deadlineMs: ctx.deadline } : {}),
      headers: forwardedHeaders(ctx),
    });
    return op.result ? op.result(answer) : answer;
  }

  async submitJob(ctx: AiContext, name: string, op: WrapperOperation, args: Record<string, unknown>) {
    if (!this.jobs) throw new Error(`${this.options.service.slug} has no job runner`);
    const { organizationId, userId } = ctx.caller as { organizationId: string; userId: string };
    const input = await op.input(args, this.tools());
    // A client retrying with its Idempotency-Key gets the job it started, not a second one.
    const invocationId = ctx.idempotencyKey
      ? invocationIdFor(['job', organizationId, userId, this.options.service.slug, name, ctx.idempotencyKey])
      : randomUUID();
    const apiKeyId = ctx.caller.apiKeyId ?? null;
    return view(await this.jobs.submit({ operation: name, organizationId, userId, apiKeyId, invocationId, input }));
  }

  async job(ctx: AiContext, id: string): Promise<JobView | null> {
    const organizationId = ctx.caller.organizationId;
    if (!this.jobs || !organizationId || !isUuid(id)) return null;
    const job = await this.jobs.get(id, { organizationId });
    return job ? view(job) : null;
  }

  async cancelJob(ctx: AiContext, id: string): Promise<JobView | null> {
    const organizationId = ctx.caller.organizationId;
    if (!this.jobs || !organizationId || !isUuid(id)) return null;
    const job = await this.jobs.cancel(id, { organizationId });
    return job ? view(job) : null;
  }

  async status() {
    const health = await this.client.health();
    const status = this.client.status();
    return {
      health: HEALTH[health.status],
      circuit: CIRCUIT[status.circuit],
      consecutiveFailures: status.consecutiveFailures,
      p50Ms: status.latency.p50Ms,
      p99Ms: status.latency.p99Ms,
      sampleCount: status.latency.count,
      windowSeconds: status.latency.windowSeconds,
      checkedAt: health.checkedAt,
    };
  }

  /** /readyz's informational check: the upstream as its health check answers. */
  async readiness(): Promise<Record<string, string>> {
    const health = await this.client.health();
    return { upstream: health.status === 'ok' ? 'ok' : health.status };
  }

  async start() {
    this.jobs?.start();
  }

  async stop() {
    await this.jobs?.stop();
    await this.meter.settled();
    await this.client.close();
  }
}

/** What the original gateway forwarded upstream: who asks, for which organization, under which request. */
function forwardedHeaders(ctx: AiContext): Record<string, string> {
  const headers: Record<string, string> = { 'x-request-id': ctx.requestId };
  if (ctx.caller.organizationId) headers['x-g3d-organization-id'] = ctx.caller.organizationId;
  if (ctx.caller.userId) headers['x-g3d-user-id'] = ctx.caller.userId;
  return headers;
}

function view(job: JobRecord): JobView {
  return {
    id: job.id,
    operation: job.operation,
    status: job.status,
    progress: job.progress,
    result: job.result,
    error: job.error,
    attempts: job.attempts,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
  };
}
