// Password policy after OWASP ASVS 5 (V6.2) and NIST SP 800-63B (5.1.1.2): a length window counted in Unicode code
// points after NFKC normalization, no composition rules, a blocklist of common passwords and of the account's own
// email or names. Only C0 control characters are refused; every other Unicode character (spaces, emoji) is allowed.
import { readFileSync } from 'node:fs';

export type PasswordProblemCode = 'TOO_SHORT' | 'TOO_LONG' | 'COMMON' | 'CONTAINS_CONTEXT' | 'INVALID_CHARACTERS';

export type PasswordProblem = { code: PasswordProblemCode; message: string };

export type PasswordContext = { email?: string; names?: string[] };

export type PasswordPolicyOptions = { minLength?: number; maxLength?: number };

export type PasswordPolicy = {
  readonly minLength: number;
  readonly maxLength: number;
  /** The first problem found, or null when the password is acceptable. Never throws, never echoes the password. */
  check(password: string, context?: PasswordContext): PasswordProblem | null;
};

/** NFKC: hash and check the same string, so that visually identical input typed on another device still matches. */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

const COMMON_PASSWORDS_FILE = new URL('./common-passwords.txt', import.meta.url);
let commonPasswords: ReadonlySet<string> | undefined;

/** The common-password blocklist (lowercase), read once on first use. */
export function commonPasswordList(): ReadonlySet<string> {
  commonPasswords ??= new Set(
    readFileSync(COMMON_PASSWORDS_FILE, 'utf8')
      .split('\n')
      .map((line) => line.replace(/\r$/, ''))
      .filter((line) => line !== ''),
  );
  return commonPasswords;
}

// ASVS 5 requires at least 8 and allows at least 64; NIST requires accepting at least 64.
const MIN_ALLOWED_MIN_LENGTH = 8;
const MIN_ALLOWED_MAX_LENGTH = 64;
// Context strings shorter than this (e.g. a name "Al") are not compared: they would block nothing useful.
const MIN_CONTEXT_LENGTH = 4;
// NFKC composition merges at most a few code points into one, so input this many UTF-16 units per allowed code point
// is too long whatever normalization does: such input is refused before normalizing it.
const MAX_UTF16_UNITS_PER_CODE_POINT = 16;

// eslint-disable-next-line no-control-regex -- C0 control characters are exactly what is refused.
const C0_CONTROL = /[\u0000-\u001f]/;

const codePointLength = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

const foldContext = (s: string): string => normalizePassword(s).trim().toLowerCase();

export function createPasswordPolicy({ minLength = 8, maxLength = 256 }: PasswordPolicyOptions = {}): PasswordPolicy {
  if (!Number.isInteger(minLength) || minLength < MIN_ALLOWED_MIN_LENGTH) {
    throw new RangeError(
      `Password minLength must be an integer of at least ${MIN_ALLOWED_MIN_LENGTH} (got ${minLength})`,
    );
  }
  if (!Number.isInteger(maxLength) || maxLength < MIN_ALLOWED_MAX_LENGTH) {
    throw new RangeError(
      `Password maxLength must be an integer of at least ${MIN_ALLOWED_MAX_LENGTH} (got ${maxLength})`,
    );
  }
  if (minLength > maxLength) {
    throw new RangeError(`Password minLength (${minLength}) exceeds maxLength (${maxLength})`);
  }

  const tooLong = (): PasswordProblem => ({
    code: 'TOO_LONG',
    message: `Use a password of at most ${maxLength} characters.`,
  });

  return {
    minLength,
    maxLength,
    check(password, context) {
      if (typeof password !== 'string') {
        return { code: 'INVALID_CHARACTERS', message: 'The password must be text.' };
      }
      if (password.length > maxLength * MAX_UTF16_UNITS_PER_CODE_POINT) return tooLong();

      const normalized = normalizePassword(password);
      if (C0_CONTROL.test(normalized)) {
        return {
          code: 'INVALID_CHARACTERS',
          message: 'The password contains control characters (such as tabs or line breaks) that are not allowed.',
        };
      }

      const length = codePointLength(normalized);
      if (length < minLength) {
        return { code: 'TOO_SHORT', message: `Use a password of at least ${minLength} characters.` };
      }
      if (length > maxLength) return tooLong();

      const folded = normalized.toLowerCase();
      if (commonPasswordList().has(folded)) {
        return {
          code: 'COMMON',
          message: 'This password is too common and easy to guess. Choose a different one.',
        };
      }

      const email = typeof context?.email === 'string' ? foldContext(context.email) : '';
      const at = email.lastIndexOf('@');
      const candidates = [
        email,
        at > 0 ? email.slice(0, at) : '',
        ...(context?.names ?? []).filter((n) => typeof n === 'string').map(foldContext),
      ];
      if (candidates.some((c) => codePointLength(c) >= MIN_CONTEXT_LENGTH && c === folded)) {
        return {
          code: 'CONTAINS_CONTEXT',
          message: 'The password must not be your email address or your name. Choose a different one.',
        };
      }

      return null;
    },
  };
}
