// secure-ai: scans text for leaked secrets, personal data and injection payloads, with positions, masked
// excerpts and a deterministic risk score. Every detector is linear-time on adversarial input (see each pattern).
import { z } from 'zod';

import { checkAborted, operation, type ServiceOperations, UpstreamError } from '../protocol.ts';
import type { Candidate, Category } from './secure-ai/common.ts';
import { detectInjections } from './secure-ai/injection.ts';
import { detectPii } from './secure-ai/pii.ts';
import { lineStarts, MAX_LISTED, resolveOverlaps, riskLevel, riskScore, toFinding } from './secure-ai/report.ts';
import { detectSecrets } from './secure-ai/secrets.ts';

export const MAX_TEXT_CHARS = 1_000_000;

const CATEGORIES = ['SECRET', 'PII', 'INJECTION'] as const;

const scanInput = z.object({
  text: z.string(),
  categories: z.array(z.enum(CATEGORIES)).min(1).optional(),
});

const DETECTORS: Record<Category, (text: string, signal: AbortSignal) => Iterable<Candidate>> = {
  SECRET: detectSecrets,
  PII: detectPii,
  INJECTION: detectInjections,
};

/** Findings by position (at most MAX_LISTED listed; counts and risk over all), counts per category, risk. */
const scanContent = operation(scanInput, ({ text, categories }, { signal }) => {
  if (text.length > MAX_TEXT_CHARS) {
    throw new UpstreamError('INPUT_TOO_LARGE', `The text is longer than ${MAX_TEXT_CHARS} characters`, 413);
  }
  const wanted = new Set(categories ?? CATEGORIES);
  const candidates: Candidate[] = [];
  for (const category of CATEGORIES) {
    if (!wanted.has(category)) continue;
    for (const candidate of DETECTORS[category](text, signal)) candidates.push(candidate);
    checkAborted(signal);
  }
  const kept = resolveOverlaps(candidates, text.length);
  const starts = lineStarts(text);
  const severities = kept.map((c) => c.severity);
  const score = riskScore(severities);
  const count = (category: Category) => kept.filter((c) => c.category === category).length;
  return {
    findings: kept.slice(0, MAX_LISTED).map((c) => toFinding(text, starts, c)),
    counts: { secret: count('SECRET'), pii: count('PII'), injection: count('INJECTION') },
    riskScore: score,
    riskLevel: riskLevel(severities, score),
  };
});

export const secureAi: ServiceOperations = { scanContent };
