// Single-use MFA backup codes: shown to the user once, stored only as hashes.
import { createHash, randomInt } from 'node:crypto';

// No 0/O, 1/I/L: codes are read off paper and typed by hand, so look-alike characters only cause failures.
export const BACKUP_CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const BACKUP_CODE_LENGTH = 10;
export const DEFAULT_BACKUP_CODE_COUNT = 10;
// Longest input worth looking at (a code with generous spacing); longer input is refused before any work.
const MAX_INPUT_LENGTH = 64;
// Spelled out per case, with no `i`/`u` flag: a case-insensitive Unicode regex would also accept look-alikes
// such as U+017F "ſ" (folds to s) or U+212A "K" (Kelvin sign).
const NORMALIZABLE = /^[2-9A-HJKMNP-Za-hjkmnp-z]{10}$/;
const NORMALIZED = /^[2-9A-HJKMNP-Z]{10}$/;
const SEPARATORS = /[ \t-]/g;

/** `count` distinct codes formatted `XXXXX-XXXXX`; 31^10 ≈ 2^49.5 each, from crypto.randomInt (uniform, CSPRNG). */
export function generateBackupCodes(count: number = DEFAULT_BACKUP_CODE_COUNT): string[] {
  if (!Number.isSafeInteger(count) || count < 1 || count > 100) throw new Error('backup code count must be 1–100');
  const codes = new Set<string>();
  // A collision is astronomically unlikely, but a Set makes "distinct" a guarantee rather than a probability.
  while (codes.size < count) {
    let code = '';
    for (let i = 0; i < BACKUP_CODE_LENGTH; i++) code += BACKUP_CODE_ALPHABET[randomInt(BACKUP_CODE_ALPHABET.length)];
    codes.add(`${code.slice(0, 5)}-${code.slice(5)}`);
  }
  return [...codes];
}

/**
 * The canonical form of user input (uppercase, no spaces or hyphens), or null when it cannot be a code:
 * wrong length or characters, control bytes, non-ASCII look-alikes, or more than 64 characters.
 */
export function normalizeBackupCode(input: string): string | null {
  if (typeof input !== 'string' || input.length > MAX_INPUT_LENGTH) return null;
  const compact = input.replace(SEPARATORS, '');
  if (!NORMALIZABLE.test(compact)) return null;
  return compact.toUpperCase();
}

/**
 * SHA-256 hex of a normalized code. A fast hash is acceptable here, unlike for passwords: codes are random with
 * ~50 bits of entropy (not human-chosen, so no dictionary to try), single use, and redeemed only through a
 * rate-limited endpoint; a slow KDF would add cost per login without a meaningful gain.
 */
export function hashBackupCode(normalized: string): string {
  // Hashing an un-normalized code would store a hash that can never match; fail loudly instead.
  if (!NORMALIZED.test(normalized)) throw new Error('hashBackupCode expects a normalized backup code');
  return createHash('sha256').update(normalized, 'utf8').digest('hex');
}
