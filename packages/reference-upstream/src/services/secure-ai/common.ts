// Shared pieces of the content scanner: the finding shape, a regex loop that checks for cancellation as it goes,
// masking and Shannon entropy.
import { checkAborted } from '../../protocol.ts';

export type Category = 'SECRET' | 'PII' | 'INJECTION';
export type Severity = 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

/** A detection before deduplication: `rank` orders overlapping candidates (the most specific type wins). */
export interface Candidate {
  category: Category;
  type: string;
  start: number;
  end: number;
  severity: Severity;
  confidence: number;
  rank: number;
}

/** Cancellation is checked each time the scan has advanced this far into the text. */
export const CHUNK = 64 * 1024;

/**
 * Every match of `pattern` (which must be global) in `text`, checking `signal` every CHUNK characters. Each call
 * uses a fresh copy of the pattern, so the module's patterns keep no `lastIndex` between requests.
 */
export function* matchAll(pattern: RegExp, text: string, signal: AbortSignal): Generator<RegExpExecArray> {
  const re = new RegExp(pattern.source, pattern.flags);
  let nextCheck = CHUNK;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index >= nextCheck) {
      checkAborted(signal);
      nextCheck = m.index + CHUNK;
    }
    if (m[0].length === 0) re.lastIndex += 1;
    yield m;
  }
  checkAborted(signal);
}

/** Keeps the first 4 and last 2 characters, masks the rest (at most 74 `*`, so a long key stays short). */
export function mask(value: string): string {
  if (value.length <= 6) return '*'.repeat(value.length);
  return `${value.slice(0, 4)}${'*'.repeat(Math.min(value.length - 6, 74))}${value.slice(-2)}`;
}

/** Shannon entropy in bits per character. */
export function entropy(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** How many of lower case, upper case and digits appear. */
export function characterClasses(value: string): number {
  return Number(/[a-z]/.test(value)) + Number(/[A-Z]/.test(value)) + Number(/\d/.test(value));
}

export const round2 = (value: number) => Math.round(value * 100) / 100;
