// From candidates to the answer: overlaps resolved (the most specific type keeps the span), positions as line and
// column, values masked, and a risk score that only grows with more or more severe findings.
import type { Candidate, Category, Severity } from './common.ts';
import { mask } from './common.ts';

export interface Finding {
  category: Category;
  type: string;
  start: number;
  end: number;
  line: number;
  column: number;
  excerpt: string;
  severity: Severity;
  confidence: number;
}

export type RiskLevel = 'NONE' | Severity;

/** The answer lists at most this many findings (the first by position); counts and risk cover them all. */
export const MAX_LISTED = 1_000;

/**
 * Keeps, among overlapping candidates, the most specific (highest rank), then the longest, then the first.
 * Secrets and personal data compete for a span (a card number is not also a phone number); an injection competes
 * only with injections of its type (a traversal reaching /etc/passwd is both a traversal and a command payload).
 */
export function resolveOverlaps(candidates: Candidate[], length: number): Candidate[] {
  const ordered = [...candidates].sort(
    (a, b) => b.rank - a.rank || b.end - b.start - (a.end - a.start) || a.start - b.start,
  );
  const taken = new Map<string, Uint8Array>();
  const kept: Candidate[] = [];
  for (const candidate of ordered) {
    const group = candidate.category === 'INJECTION' ? candidate.type : 'DATA';
    let covered = taken.get(group);
    if (!covered) taken.set(group, (covered = new Uint8Array(length)));
    if (covered.subarray(candidate.start, candidate.end).includes(1)) continue;
    covered.fill(1, candidate.start, candidate.end);
    kept.push(candidate);
  }
  return kept.sort((a, b) => a.start - b.start || a.end - b.end);
}

/** Offsets where each line starts (after `\n`, `\r\n` or a lone `\r`). */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) starts.push(i + 1);
  }
  return starts;
}

function position(starts: number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo]! + 1 };
}

export function toFinding(text: string, starts: number[], c: Candidate): Finding {
  const value = text.slice(c.start, c.end);
  const excerpt = c.category === 'INJECTION' ? value.slice(0, 80) : mask(value);
  const { category, type, start, end, severity, confidence } = c;
  return { category, type, start, end, ...position(starts, start), excerpt, severity, confidence };
}

const WEIGHTS: Record<Severity, number> = { CRITICAL: 0.6, HIGH: 0.35, MEDIUM: 0.15, LOW: 0.05 };
const LEVELS: RiskLevel[] = ['NONE', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];

/** 100 × (1 − Π(1 − w)): each finding can only raise it. */
export function riskScore(severities: Severity[]): number {
  const safe = severities.reduce((product, s) => product * (1 - WEIGHTS[s]), 1);
  return Math.round((1 - safe) * 100);
}

/** The higher of the most severe finding and the score's band (25 / 50 / 75), NONE without findings. */
export function riskLevel(severities: Severity[], score: number): RiskLevel {
  if (severities.length === 0) return 'NONE';
  const band = score >= 75 ? 4 : score >= 50 ? 3 : score >= 25 ? 2 : 1;
  const worst = severities.reduce((max, s) => Math.max(max, LEVELS.indexOf(s)), 0);
  return LEVELS[Math.max(band, worst)]!;
}
