// Failures of a dependency (the database, the shared store) are not bugs: they answer SERVICE_UNAVAILABLE
// naming the dependency, and are logged once with the request id. Recognised through the error's cause chain:
// the store's StoreUnavailableError; pg's connection errors, SQLSTATE classes 08 (connection) and 57 (operator
// intervention: shutdown, statement timeout); Prisma's "cannot reach / timed out" codes.
import { StoreUnavailableError } from '@g3d/store';

export type Dependency = 'database' | 'store';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);
const PRISMA_UNREACHABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
const DATABASE_MESSAGES = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Query read timeout/i,
  /Connection ended unexpectedly/i,
  /Client has encountered a connection error/i,
  /Can't reach database server/i,
];

/** Which dependency an error says is unavailable, or null for anything else. */
export function unavailableDependency(error: unknown): Dependency | null {
  const seen = new Set<unknown>();
  for (let current = error; current && typeof current === 'object' && !seen.has(current);) {
    seen.add(current);
    if (current instanceof StoreUnavailableError) return 'store';
    const candidate = current as { code?: unknown; message?: unknown; cause?: unknown; originalError?: unknown };
    const code = typeof candidate.code === 'string' ? candidate.code : '';
    if (NETWORK_CODES.has(code) || PRISMA_UNREACHABLE.has(code)) return 'database';
    if (/^(08|57)[0-9A-Z]{3}$/.test(code)) return 'database';
    if (typeof candidate.message === 'string' && DATABASE_MESSAGES.some((m) => m.test(candidate.message as string)))
      return 'database';
    current = candidate.originalError ?? candidate.cause;
  }
  return null;
}
