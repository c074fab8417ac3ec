// The entitlement decision the AI wrappers take once per invocation: authorize(organization, caller, service,
// units) → allowed with what remains and when it resets, or refused (RATE_LIMITED / QUOTA_EXCEEDED with a
// retry-after, FORBIDDEN with a reason). One store round trip (scripts.ts decide), shared by the decisions of
// one organization that arrive together; no call to the entitlement subgraph. Only when the organization's record is missing (a flushed or new store, a new organization) or stale
// (its period or trial ended) does it ask entitlement, over the store's pub/sub, to write it, wait for it, and
// decide again.
import { MAX_UNITS } from '@g3d/contracts';
import { badUserInput } from '@g3d/errors';
import { AI_SERVICES, type AiServiceFacts } from '@g3d/manifest';
import type { ScriptReply, Store } from '@g3d/store';

import { type Decision, decisionFrom } from './decision.ts';
import { entitlementKeys, RATE_WINDOW_MS } from './keys.ts';
import { entitlementUnavailable, requestRecord } from './refresh.ts';
import { decideScript, DECISION_FIELDS } from './scripts.ts';

export interface AuthorizeRequest {
  organizationId: string;
  /** Whose rate limit counts it: the user (an API key counts against its owner). */
  callerId: string;
  /** The AI service's slug (registry). */
  service: string;
  /** Units of the service's metered unit this invocation uses (0 for services that count requests only). */
  units?: number;
  /** The invocation's id (a UUID): the usage ledger's key. */
  invocationId: string;
  /** A retry may carry the same id (the client's idempotency key): it gets the first decision, counted once. */
  replayable?: boolean;
}

export interface DeciderOptions {
  store: Store;
  /** The clock (epoch ms); tests control it. */
  now?: () => number;
  /** How long a decision waits for entitlement to write a missing or stale record (default 3 s). */
  refreshTimeoutMs?: number;
}

export interface EntitlementDecider {
  authorize(request: AuthorizeRequest): Promise<Decision>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SERVICES = new Map<string, AiServiceFacts>(AI_SERVICES.map((s) => [s.slug, s]));

/** Checks a request before it touches the store: every failure is BAD_USER_INPUT naming the field. */
export function checkAuthorizeRequest(request: AuthorizeRequest): AiServiceFacts {
  if (!UUID.test(String(request.organizationId))) throw badUserInput('Invalid organization id', 'organizationId');
  if (!UUID.test(String(request.callerId))) throw badUserInput('Invalid caller id', 'callerId');
  if (!UUID.test(String(request.invocationId))) throw badUserInput('Invalid invocation id', 'invocationId');
  const service = typeof request.service === 'string' ? SERVICES.get(request.service) : undefined;
  if (!service) throw badUserInput('Unknown AI service', 'service');
  const units = request.units ?? 0;
  if (!Number.isSafeInteger(units) || units < 0 || units > MAX_UNITS)
    throw badUserInput(`units must be a whole number from 0 to ${MAX_UNITS}`, 'units');
  if (units > 0 && !service.meteredUnit)
    throw badUserInput(`${service.name} counts requests only: units must be 0`, 'units');
  return service;
}

/** Decisions of one organization waiting for their round trip. */
interface Waiting {
  request: AuthorizeRequest;
  facts: AiServiceFacts;
  units: number;
  /** Round trips that found the record missing or stale. */
  attempts: number;
  resolve: (decision: Decision) => void;
  reject: (error: unknown) => void;
}

/**
 * Round trips one organization may have in flight from this process; decisions asked meanwhile wait and go
 * together in the next (group commit: under load one script run decides a whole batch; two in flight let this
 * process work on one batch's answers while Redis runs the next).
 */
const IN_FLIGHT_PER_ORGANIZATION = 2;
/** Most decisions one round trip carries. */
const MAX_BATCH = 100;
/**
 * Answers are handed back in slices this size with a turn of the event loop between slices: what the first
 * slice's callers decide next leaves for the store while this process still answers the rest, so the store and
 * this process work at the same time instead of taking turns (measured: 1.35× the decisions per second).
 */
const ANSWER_SLICE = 16;

export function createEntitlementDecider(options: DeciderOptions): EntitlementDecider {
  const { store } = options;
  const now = options.now ?? Date.now;
  const refreshing = new Map<string, Promise<void>>();
  const queues = new Map<string, { waiting: Waiting[]; inFlight: number; scheduled: boolean }>();

  function refreshed(organizationId: string, at: number): Promise<void> {
    let pending = refreshing.get(organizationId);
    if (!pending) {
      pending = requestRecord(store, organizationId, at, options.refreshTimeoutMs ?? 3_000).finally(() =>
        refreshing.delete(organizationId),
      );
      refreshing.set(organizationId, pending);
    }
    return pending;
  }

  /** Sends the waiting decisions of an organization (group commit: those that arrived together share a trip). */
  function flush(organizationId: string): void {
    const queue = queues.get(organizationId);
    if (!queue) return;
    queue.scheduled = false;
    while (queue.inFlight < IN_FLIGHT_PER_ORGANIZATION && queue.waiting.length > 0) {
      const batch = queue.waiting.splice(0, MAX_BATCH);
      queue.inFlight += 1;
      void decide(organizationId, batch).finally(() => {
        queue.inFlight -= 1;
        if (queue.waiting.length > 0) flush(organizationId);
        else if (queue.inFlight === 0) queues.delete(organizationId);
      });
    }
  }

  function enqueue(organizationId: string, waiting: Waiting[]): void {
    let queue = queues.get(organizationId);
    if (!queue) queues.set(organizationId, (queue = { waiting: [], inFlight: 0, scheduled: false }));
    queue.waiting.push(...waiting);
    if (!queue.scheduled) {
      // Decisions asked in the same tick go together.
      queue.scheduled = true;
      process.nextTick(flush, organizationId);
    }
  }

  async function decide(organizationId: string, batch: Waiting[]): Promise<void> {
    const at = now();
    const window = Math.floor(at / RATE_WINDOW_MS);
    const args: (string | number)[] = [at, window];
    for (const w of batch) {
      args.push(w.request.service, w.request.callerId, w.units, w.request.replayable ? w.request.invocationId : '');
    }
    let reply: ScriptReply;
    try {
      reply = await store.script(decideScript, [entitlementKeys(organizationId).base], args);
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    }
    if (reply[0] === 'MISSING' || reply[0] === 'STALE') {
      const retry = batch.filter((w) => {
        w.attempts += 1;
        if (w.attempts <= 2) return true;
        w.reject(entitlementUnavailable("The organization's entitlements are being renewed; retry in a moment"));
        return false;
      });
      try {
        await refreshed(organizationId, at);
        if (retry.length) enqueue(organizationId, retry);
      } catch (error) {
        for (const w of retry) w.reject(error);
      }
      return;
    }
    const periodStart = reply[1] as string;
    const periodEnd = reply[2] as string;
    const windowEnd = (window + 1) * RATE_WINDOW_MS;
    for (let i = 0; i < batch.length; i += 1) {
      if (i > 0 && i % ANSWER_SLICE === 0) await new Promise(setImmediate);
      const w = batch[i] as Waiting;
      const offset = 3 + i * DECISION_FIELDS;
      const context = { request: w.request, facts: w.facts, units: w.units, at, replayed: false, windowEnd };
      if (reply[offset] === 'REPLAY') {
        // A remembered reply: kind;metric;ps;pe;then the eight counts.
        const f = String(reply[offset + 1]).split(';');
        const fields = [f[0], f[1], ...f.slice(4)];
        w.resolve(decisionFrom(fields, 0, f[2], f[3], { ...context, replayed: true }));
      } else w.resolve(decisionFrom(reply, offset, periodStart, periodEnd, context));
    }
  }

  return {
    authorize(request) {
      try {
        const facts = checkAuthorizeRequest(request);
        return new Promise<Decision>((resolve, reject) => {
          enqueue(request.organizationId.toLowerCase(), [
            { request, facts, units: request.units ?? 0, attempts: 0, resolve, reject },
          ]);
        });
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}
