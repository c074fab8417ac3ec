// The HTTP client an AI wrapper uses to reach its upstream model server: `POST {baseUrl}/v1/{operation}` with a
// JSON body over a keep-alive undici Pool, with a per-attempt timeout, retries of what is safe to retry, a circuit
// breaker, a latency window and a span per call.
//
// Time limits. Each attempt is bounded by `timeoutMs` and by what is left of the call's budget: the caller's
// `deadlineMs`, and at most `timeoutMs × (1 + retries)` from the call's start (backoff pauses included). A
// timeout is never retried: an upstream that is slow now will be slow again, and retrying would multiply the
// caller's wait; so a slow upstream answers SERVICE_UNAVAILABLE/TIMEOUT after `timeoutMs`. Retries (idempotent
// calls only) are for failures that come fast: a refused or reset connection before any response, and
// 500/502/503/504.
//
// `now` is the clock of the circuit breaker, the deadline, the latency window and latency measurement (tests
// inject one); the timeouts themselves are real timers.
import { AppError } from '@g3d/errors';
import { context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { type Dispatcher, Pool } from 'undici';

import { declaredLength, discard, headerValue, readCapped } from './body.ts';
import { type CallVerdict, CircuitBreaker, type CircuitState } from './circuit.ts';
import {
  badResponseError,
  cancelledError,
  circuitOpenError,
  closedError,
  deadlinePassedError,
  inputRefusal,
  isConnectionFailure,
  parseRetryAfter,
  timeoutError,
  upstreamError,
} from './errors.ts';
import { SharedHealthProbe, type UpstreamHealth } from './health.ts';
import { type LatencySnapshot, LatencyWindow } from './latency.ts';

export interface UpstreamSettings {
  /** The service's slug: names it in errors, spans and logs. */
  service: string;
  /** The upstream's base URL, possibly with a path prefix (`http://models:8080/superres`). */
  baseUrl: string;
  /** The limit on each attempt. */
  timeoutMs: number;
  /** Further attempts after the first, for idempotent calls that fail fast (never after a timeout). */
  retries: number;
  /** Relative to the base URL's path. Default '/health'. */
  healthPath?: string;
  /** Default 5000. */
  healthTimeoutMs?: number;
  /** How long a health result is reused. Default 30000. */
  healthCacheMs?: number;
  /** A larger successful response is refused as BAD_RESPONSE. Default 16 MiB. */
  maxResponseBytes?: number;
  circuit?: { failureThreshold?: number /* 5 */; coolDownMs?: number /* 30000 */ };
  backoff?: { baseMs?: number /* 100 */; maxMs?: number /* 2000 */ };
}

export interface UpstreamClientOptions {
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface UpstreamCallOptions {
  /** Whether the operation may run twice (only then are failed attempts retried). */
  idempotent: boolean;
  /** Aborting it aborts the in-flight request (the upstream sees the connection close). */
  signal?: AbortSignal;
  /** Absolute epoch ms (on the client's clock) after which the call gives up. */
  deadlineMs?: number;
  /** Extra request headers (a request id, say); content-type, accept and traceparent are set by the client. */
  headers?: Record<string, string>;
}

export interface UpstreamStatus {
  circuit: CircuitState;
  consecutiveFailures: number;
  openedAt: Date | null;
  latency: LatencySnapshot;
}

type AttemptOutcome =
  | { ok: true; value: unknown; status: number; verdict: 'healthy' }
  | { ok: false; error: AppError; verdict: CallVerdict; retryable: boolean; status?: number; retryAfterMs?: number };

const OPERATION_NAME = /^[A-Za-z0-9_-]+$/;
const RETRYABLE_STATUSES = new Set([500, 502, 503, 504]);
/** Error and health bodies are small; more than this is not worth reading. */
const MAX_SMALL_BODY_BYTES = 64 * 1024;
const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

const tracer = trace.getTracer('@g3d/ai-kit');
const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class UpstreamClient {
  readonly service: string;
  readonly #pool: Pool;
  readonly #pathPrefix: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #maxResponseBytes: number;
  readonly #backoff: { baseMs: number; maxMs: number };
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #circuit: CircuitBreaker;
  readonly #latency = new LatencyWindow();
  readonly #health: SharedHealthProbe;
  readonly #healthPath: string;
  readonly #healthTimeoutMs: number;
  #closed = false;

  constructor(settings: UpstreamSettings, options: UpstreamClientOptions = {}) {
    if (!(settings.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
    if (!Number.isInteger(settings.retries) || settings.retries < 0) {
      throw new RangeError('retries must be a non-negative integer');
    }
    const base = new URL(settings.baseUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError('baseUrl must be http(s)');

    this.service = settings.service;
    this.#pool = new Pool(base.origin, { keepAliveTimeout: 10_000 });
    this.#pathPrefix = base.pathname.replace(/\/+$/, '');
    this.#timeoutMs = settings.timeoutMs;
    this.#retries = settings.retries;
    this.#maxResponseBytes = settings.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.#backoff = { baseMs: settings.backoff?.baseMs ?? 100, maxMs: settings.backoff?.maxMs ?? 2000 };
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? realSleep;
    this.#circuit = new CircuitBreaker(
      { failureThreshold: settings.circuit?.failureThreshold ?? 5, coolDownMs: settings.circuit?.coolDownMs ?? 30_000 },
      this.#now,
    );
    this.#healthPath = `${this.#pathPrefix}${settings.healthPath ?? '/health'}`;
    this.#healthTimeoutMs = settings.healthTimeoutMs ?? 5000;
    this.#health = new SharedHealthProbe(() => this.#probeHealth(), settings.healthCacheMs ?? 30_000, this.#now);
  }

  /** Runs `operation` upstream; resolves with its JSON result or rejects with an AppError (see errors.ts). */
  async call<T = unknown>(operation: string, body: unknown, options: UpstreamCallOptions): Promise<T> {
    if (!OPERATION_NAME.test(operation)) throw new TypeError(`Invalid upstream operation name: ${operation}`);
    const span = tracer.startSpan(`upstream ${this.service}.${operation}`, {
      kind: SpanKind.CLIENT,
      attributes: { 'g3d.service': this.service, 'g3d.operation': operation, 'http.request.method': 'POST' },
    });
    const progress: { attempts: number; status?: number } = { attempts: 0 };
    try {
      return (await this.#run(operation, body, options, span, progress)) as T;
    } catch (error) {
      const reason = error instanceof AppError ? String(error.extensions.reason ?? error.extensions.code) : 'ERROR';
      span.setAttribute('g3d.error.reason', reason);
      span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
      throw error;
    } finally {
      span.setAttribute('g3d.attempts', progress.attempts);
      if (progress.status !== undefined) span.setAttribute('http.response.status_code', progress.status);
      span.end();
    }
  }

  /** GET the health path (bypassing the circuit breaker, which it does not affect); cached and shared. */
  health(): Promise<UpstreamHealth> {
    return this.#health.check();
  }

  status(): UpstreamStatus {
    const openedAt = this.#circuit.openedAt;
    return {
      circuit: this.#circuit.state,
      consecutiveFailures: this.#circuit.consecutiveFailures,
      openedAt: openedAt === null ? null : new Date(openedAt),
      latency: this.#latency.snapshot(this.#now()),
    };
  }

  /** Refuses new calls, lets in-flight ones finish (each is bounded by its timeout), then closes connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.close();
  }

  async #run(
    operation: string,
    body: unknown,
    options: UpstreamCallOptions,
    span: Span,
    progress: { attempts: number; status?: number },
  ): Promise<unknown> {
    if (this.#closed) throw closedError(this.service);
    const { signal } = options;
    if (signal?.aborted) throw cancelledError(this.service);
    const startedAt = this.#now();
    const budgetEnd = Math.min(startedAt + this.#timeoutMs * (this.#retries + 1), options.deadlineMs ?? Infinity);
    if (budgetEnd <= startedAt) throw deadlinePassedError(this.service);
    const permit = this.#circuit.acquire();
    if (!permit.allowed) throw circuitOpenError(this.service, permit.retryAfterMs);

    const headers = this.#requestHeaders(options.headers, span);
    const payload = JSON.stringify(body ?? null);
    const path = `${this.#pathPrefix}/v1/${operation}`;
    let verdict: CallVerdict = 'neutral';
    let lastError: AppError | null = null;
    try {
      for (let attempt = 0; ; attempt++) {
        const limitMs = Math.min(this.#timeoutMs, budgetEnd - this.#now());
        if (limitMs <= 0) throw lastError ?? deadlinePassedError(this.service);
        progress.attempts = attempt + 1;
        const outcome = await this.#attempt(path, payload, headers, limitMs, signal);
        if (outcome.status !== undefined) progress.status = outcome.status;
        // Failed attempts are evidence about the upstream even if the call then ends without a verdict.
        if (outcome.verdict !== 'neutral' || verdict !== 'failure') verdict = outcome.verdict;
        if (outcome.ok) return outcome.value;
        lastError = outcome.error;
        if (!options.idempotent || !outcome.retryable || attempt >= this.#retries) throw outcome.error;
        const delayMs = this.#backoffDelay(attempt, outcome.retryAfterMs);
        if (this.#now() + delayMs >= budgetEnd) throw outcome.error;
        if (!(await this.#pause(delayMs, signal))) throw cancelledError(this.service);
      }
    } finally {
      this.#circuit.settle(permit, verdict);
      if (verdict !== 'neutral') this.#latency.record(this.#now() - startedAt, this.#now());
    }
  }

  async #attempt(
    path: string,
    payload: string,
    headers: Record<string, string>,
    limitMs: number,
    signal: AbortSignal | undefined,
  ): Promise<AttemptOutcome> {
    // One controller per attempt: the timeout and the caller's cancellation both abort the request itself, so
    // undici closes the connection and the upstream can stop working.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, limitMs);
    const cancel = () => controller.abort();
    signal?.addEventListener('abort', cancel, { once: true });
    let status: number | undefined;
    try {
      const response = await this.#pool.request({
        path,
        method: 'POST',
        headers,
        body: payload,
        signal: controller.signal,
      });
      status = response.statusCode;
      return await this.#readOutcome(response);
    } catch (error) {
      if (signal?.aborted) {
        return { ok: false, error: cancelledError(this.service), verdict: 'neutral', retryable: false };
      }
      if (timedOut) {
        // A timeout the caller's deadline forced says nothing about the upstream's health.
        const verdict = limitMs < this.#timeoutMs ? 'neutral' : 'failure';
        return { ok: false, error: timeoutError(this.service, limitMs), verdict, retryable: false, status };
      }
      if (status !== undefined) {
        const error = badResponseError(this.service, 'the response was cut off');
        return { ok: false, error, verdict: 'failure', retryable: false, status };
      }
      const retryable = isConnectionFailure(error);
      return { ok: false, error: upstreamError(this.service), verdict: 'failure', retryable };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', cancel);
    }
  }

  async #readOutcome({ statusCode: status, headers, body }: Dispatcher.ResponseData): Promise<AttemptOutcome> {
    if (status >= 200 && status < 300) {
      const bad = (why: string): AttemptOutcome => ({
        ok: false,
        error: badResponseError(this.service, why),
        verdict: 'failure',
        retryable: false,
        status,
      });
      const tooLarge = `larger than ${this.#maxResponseBytes} bytes`;
      const declared = declaredLength(headers);
      if (declared !== null && declared > this.#maxResponseBytes) {
        discard(body);
        return bad(tooLarge);
      }
      const bytes = await readCapped(body, this.#maxResponseBytes);
      if (bytes === null) return bad(tooLarge);
      try {
        return { ok: true, value: JSON.parse(bytes.toString('utf8')) as unknown, status, verdict: 'healthy' };
      } catch {
        return bad('not JSON');
      }
    }

    const errorBody = await readCapped(body, MAX_SMALL_BODY_BYTES);
    const refusal = inputRefusal(this.service, status, errorBody);
    if (refusal) return { ok: false, error: refusal, verdict: 'healthy', retryable: false, status };
    const retryAfterMs = status === 503 ? parseRetryAfter(headerValue(headers, 'retry-after'), this.#now()) : null;
    return {
      ok: false,
      error: upstreamError(this.service, status),
      // A 4xx is an answer: the upstream is up, whatever it thought of the request.
      verdict: status >= 400 && status < 500 ? 'healthy' : 'failure',
      retryable: RETRYABLE_STATUSES.has(status),
      status,
      ...(retryAfterMs === null ? {} : { retryAfterMs }),
    };
  }

  /** Full jitter (`random × min(max, base × 2^attempt)`); a 503's Retry-After is honoured up to `maxMs`. */
  #backoffDelay(attempt: number, retryAfterMs: number | undefined): number {
    const { baseMs, maxMs } = this.#backoff;
    const jittered = this.#random() * Math.min(maxMs, baseMs * 2 ** attempt);
    return retryAfterMs === undefined ? jittered : Math.min(maxMs, Math.max(jittered, retryAfterMs));
  }

  /** Sleeps unless the caller cancels first; false when cancelled. */
  async #pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (!signal) {
      await this.#sleep(ms);
      return true;
    }
    if (signal.aborted) return false;
    let onAbort = () => {};
    const aborted = new Promise<false>((resolve) => {
      onAbort = () => resolve(false);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([this.#sleep(ms).then(() => true), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  #requestHeaders(extra: Record<string, string> | undefined, span: Span): Record<string, string> {
    const headers: Record<string, string> = {
      ...extra,
      'content-type': 'application/json',
      accept: 'application/json',
    };
    propagation.inject(trace.setSpan(context.active(), span), headers);
    return headers;
  }

  async #probeHealth(): Promise<UpstreamHealth> {
    const startedAt = this.#now();
    const result = (status: UpstreamHealth['status']): UpstreamHealth => ({
      status,
      latencyMs: this.#now() - startedAt,
      checkedAt: new Date(this.#now()),
    });
    try {
      const response = await this.#pool.request({
        path: this.#healthPath,
        method: 'GET',
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.#healthTimeoutMs),
      });
      const bytes = await readCapped(response.body, MAX_SMALL_BODY_BYTES);
      return result(response.statusCode === 200 && bytes !== null && saysOk(bytes) ? 'ok' : 'unhealthy');
    } catch {
      return result('unreachable');
    }
  }
}

function saysOk(bytes: Buffer): boolean {
  try {
    return (JSON.parse(bytes.toString('utf8')) as { status?: unknown } | null)?.status === 'ok';
  } catch {
    return false;
  }
}
