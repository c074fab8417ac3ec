// Input validation shared by identity's mutations: every failure is a BAD_USER_INPUT naming the field.
import { badUserInput } from '@g3d/errors';
import { cleanText, hasForbiddenCharacters, normalizeEmail } from '@g3d/kit';

export const MAX_NAME_LENGTH = 100;
/** Upper bound on any secret a client sends back (tokens, codes, passwords): rejects 10 MB bodies early. */
export const MAX_SECRET_LENGTH = 1024;

export { normalizeEmail };

/** A human name: trimmed, at most 100 characters, no control characters. */
export function cleanName(raw: string, field: string, options: { required?: boolean } = {}): string {
  return cleanText(raw, field, MAX_NAME_LENGTH, options);
}

/** A secret the client sends back (token, code): bounded and printable, else it cannot be valid. */
export function cleanSecret(raw: string, field: string, max = MAX_SECRET_LENGTH): string {
  if (raw.length === 0 || raw.length > max || hasForbiddenCharacters(raw)) {
    throw badUserInput(`Invalid ${field}`, field);
  }
  return raw;
}
