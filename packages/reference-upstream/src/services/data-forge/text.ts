// Input checks that come before parsing: is this text at all, and which delimiter does its first line use.
import { UpstreamError } from '../../protocol.ts';

export const DELIMITERS = [',', ';', '\t', '|'] as const;
export type Delimiter = (typeof DELIMITERS)[number];

/** Refuses binary data: any NUL, or more than 1 % control characters other than tab, CR and LF. */
export function assertText(text: string): void {
  let controls = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0) throw notText('it contains NUL bytes');
    if ((code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) || code === 0x7f) controls++;
  }
  if (controls > text.length * 0.01)
    throw notText(`${controls} of its ${text.length} characters are control characters`);
}

function notText(reason: string): UpstreamError {
  return new UpstreamError('INVALID_INPUT', `The csv is not text: ${reason}`, 400);
}

/** Scans at most this much of the first line (a first record this long is no CSV header). */
const SNIFF_LIMIT = 1 << 20;

/** How often each candidate delimiter occurs outside quotes on the first line. */
export function firstLineCounts(text: string): Map<Delimiter, number> {
  const counts = new Map<string, number>(DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  const end = Math.min(text.length, SNIFF_LIMIT);
  for (let i = 0; i < end; i++) {
    const char = text[i]!;
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === '\n' || char === '\r')) break;
    else if (!quoted && counts.has(char)) counts.set(char, counts.get(char)! + 1);
  }
  return counts as Map<Delimiter, number>;
}

/** The candidate delimiter found most often outside quotes on the first line; ties in DELIMITERS order; `,` if none. */
export function sniffDelimiter(counts: Map<Delimiter, number>): Delimiter {
  let best: Delimiter = ',';
  let bestCount = 0;
  for (const d of DELIMITERS) {
    const count = counts.get(d)!;
    if (count > bestCount) {
      best = d;
      bestCount = count;
    }
  }
  return best;
}
