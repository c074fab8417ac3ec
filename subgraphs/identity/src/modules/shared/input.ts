// Input validation shared by identity's mutations: every failure is a BAD_USER_INPUT naming the field.
import { badUserInput } from '@g3d/errors';

export const MAX_EMAIL_LENGTH = 254;
export const MAX_NAME_LENGTH = 100;
/** Upper bound on any secret a client sends back (tokens, codes, passwords): rejects 10 MB bodies early. */
export const MAX_SECRET_LENGTH = 1024;

/**
 * Characters no name, address or token may hold: C0 and C1 controls (U+0000–U+001F, U+007F–U+009F), bidi
 * overrides and isolates (U+202A–U+202E, U+2066–U+2069, used to disguise text), zero-width characters
 * (U+200B–U+200F, U+FEFF), and lone surrogates (not valid Unicode: PostgreSQL would refuse or mangle them).
 */
export const hasControlCharacters = (value: string) =>
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

export function normalizeEmail(raw: string, field = 'email'): string {
  const email = raw.trim().toLowerCase();
  if (email.length > MAX_EMAIL_LENGTH || hasControlCharacters(email) || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    throw badUserInput('Invalid email address', field);
  }
  return email;
}

/** A human name: trimmed, at most 100 characters, no control characters. */
export function cleanName(raw: string, field: string, options: { required?: boolean } = {}): string {
  const value = raw.normalize('NFKC').trim();
  if ([...value].length > MAX_NAME_LENGTH)
    throw badUserInput(`${field} is longer than ${MAX_NAME_LENGTH} characters`, field);
  if (hasControlCharacters(value)) throw badUserInput(`${field} contains control characters`, field);
  if (options.required && value.length === 0) throw badUserInput(`${field} is required`, field);
  return value;
}

/** A secret the client sends back (token, code): bounded and printable, else it cannot be valid. */
export function cleanSecret(raw: string, field: string): string {
  if (raw.length === 0 || raw.length > MAX_SECRET_LENGTH || hasControlCharacters(raw)) {
    throw badUserInput(`Invalid ${field}`, field);
  }
  return raw;
}
