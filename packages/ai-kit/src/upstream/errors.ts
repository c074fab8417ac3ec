// The errors an upstream call ends with. Messages name the service (its slug) but never a URL, address or the
// upstream's internals: they reach API clients as they are. Only 4xx refusals relay the upstream's own message,
// which the protocol defines as addressed to the caller.
import { AppError } from '@g3d/errors';

/** Why a call failed with SERVICE_UNAVAILABLE (`extensions.reason`). */
export type UnavailableReason = 'TIMEOUT' | 'UPSTREAM_ERROR' | 'CIRCUIT_OPEN' | 'BAD_RESPONSE' | 'CANCELLED' | 'CLOSED';

/** Statuses whose `{ error: { code, message } }` body is a refusal of the caller's input. */
const INPUT_REFUSAL_STATUSES = new Set([400, 404, 413, 415, 422]);
const MAX_RELAYED_MESSAGE = 500;

export function unavailable(
  service: string,
  reason: UnavailableReason,
  message: string,
  extra: Record<string, unknown> = {},
): AppError {
  return new AppError('SERVICE_UNAVAILABLE', message, { service, reason, ...extra });
}

export const timeoutError = (service: string, limitMs: number) =>
  unavailable(service, 'TIMEOUT', `The ${service} upstream did not answer within ${Math.round(limitMs)} ms`);

export const deadlinePassedError = (service: string) =>
  unavailable(service, 'TIMEOUT', `The deadline for the ${service} call passed before it could be made`);

export const cancelledError = (service: string) =>
  unavailable(service, 'CANCELLED', `The ${service} call was cancelled`);

export const closedError = (service: string) =>
  unavailable(service, 'CLOSED', `The ${service} upstream client is shut down`);

export const circuitOpenError = (service: string, retryAfterMs: number) =>
  unavailable(service, 'CIRCUIT_OPEN', `The ${service} upstream is temporarily unavailable after repeated failures`, {
    retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
  });

export const badResponseError = (service: string, why: string) =>
  unavailable(service, 'BAD_RESPONSE', `The ${service} upstream sent an unusable response (${why})`);

export const upstreamError = (service: string, status?: number) =>
  unavailable(
    service,
    'UPSTREAM_ERROR',
    status === undefined
      ? `The ${service} upstream could not be reached`
      : `The ${service} upstream failed (HTTP ${status})`,
    status === undefined ? {} : { status },
  );

/** The upstream's refusal of the input, when a 4xx body carries one; null otherwise. */
export function inputRefusal(service: string, status: number, body: Buffer | null): AppError | null {
  if (!INPUT_REFUSAL_STATUSES.has(status) || body === null) return null;
  const error = parseErrorBody(body);
  if (error === null) return null;
  const relayed = error.message.slice(0, MAX_RELAYED_MESSAGE);
  const message =
    status === 413 ? `The input is too large for the ${service} service${relayed ? `: ${relayed}` : ''}` : relayed;
  return new AppError('BAD_USER_INPUT', message || `The ${service} service refused the input`, {
    service,
    upstreamCode: error.code,
    ...(error.field === undefined ? {} : { field: error.field }),
  });
}

function parseErrorBody(body: Buffer): { code: string; message: string; field?: string } | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  const error = (parsed as { error?: unknown } | null)?.error;
  if (typeof error !== 'object' || error === null) return null;
  const { code, message, field } = error as Record<string, unknown>;
  if (typeof code !== 'string' || code === '') return null;
  return {
    code,
    message: typeof message === 'string' ? message : '',
    ...(typeof field === 'string' ? { field } : {}),
  };
}

/** Failures before any response where the request surely did not run to completion upstream: safe to retry. */
const CONNECTION_FAILURE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  // undici: the server closed a kept-alive connection as the request went out
  'UND_ERR_SOCKET',
]);

export function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONNECTION_FAILURE_CODES.has(code);
}

/** Retry-After as milliseconds from `now` (delta-seconds or an HTTP date); null when absent or invalid. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
