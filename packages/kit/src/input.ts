// Text input every subgraph validates the same way: each failure is a BAD_USER_INPUT naming the field.
import { badUserInput } from '@g3d/errors';

export const MAX_EMAIL_LENGTH = 254;

/**
 * Characters no name, address or token may hold: C0 and C1 controls (U+0000–U+001F, U+007F–U+009F), bidi
 * overrides and isolates (U+202A–U+202E, U+2066–U+2069, used to disguise text), zero-width characters
 * (U+200B–U+200F, U+FEFF), and lone surrogates (not valid Unicode: PostgreSQL would refuse or mangle them).
 */
export const hasForbiddenCharacters = (value: string) =>
  !value.isWellFormed() ||
  [...value].some((c) => {
    const code = c.codePointAt(0) ?? 0;
    return (
      code < 0x20 ||
      (code >= 0x7f && code <= 0x9f) ||
      (code >= 0x200b && code <= 0x200f) ||
      (code >= 0x202a && code <= 0x202e) ||
      (code >= 0x2066 && code <= 0x2069) ||
      code === 0xfeff
    );
  });

/** Trimmed and lowercased; one plain address (no lists, display names or brackets). */
export function normalizeEmail(raw: string, field = 'email'): string {
  const email = raw.trim().toLowerCase();
  if (
    email.length > MAX_EMAIL_LENGTH ||
    hasForbiddenCharacters(email) ||
    !/^[^\s@,;<>]+@[^\s@,;<>]+\.[^\s@,;<>]+$/.test(email)
  ) {
    throw badUserInput('Invalid email address', field);
  }
  return email;
}

/** Human text (a name, a description): NFKC, trimmed, at most `max` characters (code points). */
export function cleanText(raw: string, field: string, max: number, options: { required?: boolean } = {}): string {
  const value = raw.normalize('NFKC').trim();
  if ([...value].length > max) throw badUserInput(`${field} is longer than ${max} characters`, field);
  if (hasForbiddenCharacters(value)) throw badUserInput(`${field} contains invalid characters`, field);
  if (options.required && value.length === 0) throw badUserInput(`${field} is required`, field);
  return value;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A well-formed UUID (ids from clients are checked before they reach a uuid column). */
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

/** A page size argument: an integer from 1 to `max` (default when absent), else BAD_USER_INPUT naming it. */
export function pageSize(
  value: number | null | undefined,
  options: { max: number; default?: number; field?: string },
): number {
  const field = options.field ?? 'first';
  const n = value ?? options.default ?? options.max;
  if (!Number.isInteger(n) || n < 1 || n > options.max)
    throw badUserInput(`${field} must be between 1 and ${options.max}`, field);
  return n;
}

/** Upper bound on any secret a client sends back (tokens, codes, passwords): rejects 10 MB bodies early. */
export const MAX_SECRET_LENGTH = 1024;

/** A secret the client sends back (token, code): bounded and printable, else it cannot be valid. */
export function cleanSecret(raw: string, field: string, max = MAX_SECRET_LENGTH): string {
  if (raw.length === 0 || raw.length > max || hasForbiddenCharacters(raw)) {
    throw badUserInput(`Invalid ${field}`, field);
  }
  return raw;
}
