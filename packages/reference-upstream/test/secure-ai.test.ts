// secure-ai against planted values: one of each type found at its exact offsets (and look-alikes failing their
// checksum not found), masking, the category filter, a risk score that only grows, clean prose clean, and
// adversarial megabyte inputs scanned in linear time.
import { describe, expect, it } from 'vitest';

import { UpstreamError } from '../src/protocol.ts';
import { secureAi } from '../src/services/secure-ai.ts';
import { riskLevel, riskScore } from '../src/services/secure-ai/report.ts';
import { SCAN_ADVERSARIAL, SCAN_CLEAN_PROSE, SCAN_INVALID_VALUES, SCAN_PLANTED } from './fixtures/text.ts';

interface Finding {
  category: string;
  type: string;
  start: number;
  end: number;
  line: number;
  column: number;
  excerpt: string;
  severity: string;
  confidence: number;
}
interface Scan {
  findings: Finding[];
  counts: { secret: number; pii: number; injection: number };
  riskScore: number;
  riskLevel: string;
}

const signal = new AbortController().signal;

function scan(body: unknown, abort = signal): Scan {
  const op = secureAi.scanContent!;
  return op.run(op.input.parse(body), { signal: abort }) as Scan;
}

describe('scanContent', () => {
  const { text, expected } = SCAN_PLANTED;

  it('finds every planted value, of the right type, at its exact offsets, and nothing else', () => {
    const result = scan({ text });
    const found = result.findings.map(({ category, type, severity, start, end, line, column }) => ({
      category,
      type,
      severity,
      value: text.slice(start, end),
      start,
      end,
      line,
      column,
    }));
    expect(found).toEqual(expected);
    const count = (category: string) => expected.filter((f) => f.category === category).length;
    expect(result.counts).toEqual({ secret: count('SECRET'), pii: count('PII'), injection: count('INJECTION') });
    expect(result.counts).toEqual({ secret: 11, pii: 5, injection: 6 });
    expect(result.riskLevel).toBe('CRITICAL');
    expect(result.riskScore).toBe(100);
  });

  it('does not report values failing Luhn or mod-97', () => {
    const result = scan({ text });
    for (const value of SCAN_INVALID_VALUES) {
      const start = text.indexOf(value);
      expect(start).toBeGreaterThan(0);
      expect(result.findings.filter((f) => f.start < start + value.length && f.end > start)).toEqual([]);
      expect(scan({ text: `paid with ${value} today` }).findings).toEqual([]);
    }
  });

  it('masks secrets and personal data, shows injections as they are', () => {
    const byType = new Map(scan({ text }).findings.map((f) => [f.type, f]));
    expect(byType.get('AWS_ACCESS_KEY_ID')!.excerpt).toBe('AKIA**************LE');
    expect(byType.get('CREDIT_CARD')!.excerpt).toBe('4111*************11');
    expect(byType.get('PASSWORD_ASSIGNMENT')!.excerpt).toBe('s3cr**********d!');
    expect(byType.get('PRIVATE_KEY')!.excerpt).toBe(`----${'*'.repeat(74)}--`);
    expect(byType.get('PROMPT_INJECTION')!.excerpt).toBe('ignore all previous instructions');
    const long = scan({ text: `x; rm -rf ${'../'.repeat(60)}` }).findings.find((f) => f.type === 'PATH_TRAVERSAL')!;
    expect(long.excerpt).toBe('../'.repeat(60).slice(0, 80));
    for (const f of scan({ text }).findings) {
      expect(f.confidence).toBeGreaterThan(0);
      expect(f.confidence).toBeLessThanOrEqual(1);
    }
  });

  it('filters by category', () => {
    const pii = scan({ text, categories: ['PII'] });
    expect(pii.findings.map((f) => f.type)).toEqual(['EMAIL', 'PHONE', 'CREDIT_CARD', 'IBAN', 'US_SSN']);
    expect(pii.counts).toEqual({ secret: 0, pii: 5, injection: 0 });
    const injections = scan({ text, categories: ['INJECTION', 'SECRET'] });
    expect(injections.counts).toEqual({ secret: 11, pii: 0, injection: 6 });
  });

  it('keeps the most specific type of overlapping findings', () => {
    const token = 'ghp' + '_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
    const result = scan({ text: `password = "${token}"` });
    expect(result.findings.map((f) => f.type)).toEqual(['GITHUB_TOKEN']);
  });

  it('finds international phone numbers and reports lines and columns', () => {
    const result = scan({ text: 'Office:\n  call +44 20 7946 0958 today' });
    expect(result.findings).toEqual([
      expect.objectContaining({ type: 'PHONE', line: 2, column: 8, start: 15, end: 31 }),
    ]);
  });

  it('finds nothing in clean prose', () => {
    expect(scan({ text: SCAN_CLEAN_PROSE })).toEqual({
      findings: [],
      counts: { secret: 0, pii: 0, injection: 0 },
      riskScore: 0,
      riskLevel: 'NONE',
    });
  });

  it('scores risk monotonically: more or more severe findings never lower it', () => {
    const email = scan({ text: 'mail jane.doe@example.com' });
    const twoEmails = scan({ text: 'mail jane.doe@example.com and john@example.org' });
    const withCard = scan({ text: 'mail jane.doe@example.com card 4111111111111111' });
    const withKey = scan({ text: `mail jane.doe@example.com key ${'sk_' + 'live_4eC39HqLyjWDarjtT1zdp7dc'}` });
    expect([email.riskScore, email.riskLevel]).toEqual([5, 'LOW']);
    expect(twoEmails.riskScore).toBeGreaterThan(email.riskScore);
    expect(withCard.riskScore).toBeGreaterThan(twoEmails.riskScore);
    expect(withKey.riskScore).toBeGreaterThan(withCard.riskScore);
    expect(withKey.riskLevel).toBe('CRITICAL');
    const severities = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
    let previous = 0;
    for (let i = 0; i < 40; i += 1) {
      const score = riskScore(Array.from({ length: i + 1 }, (_, k) => severities[(k * 7) % 4]!));
      expect(score).toBeGreaterThanOrEqual(previous);
      previous = score;
    }
    expect(riskScore(['HIGH', 'HIGH'])).toBe(58); // 1 − 0.65²
    // Many low findings raise the level by the score's band: 20 × LOW = 64 (HIGH), 30 × LOW = 79 (CRITICAL).
    const lows = (n: number) => Array<'LOW'>(n).fill('LOW');
    expect([riskScore(lows(20)), riskLevel(lows(20), riskScore(lows(20)))]).toEqual([64, 'HIGH']);
    expect([riskScore(lows(30)), riskLevel(lows(30), riskScore(lows(30)))]).toEqual([79, 'CRITICAL']);
  });

  it('scans adversarial megabyte inputs in linear time', () => {
    for (const [name, adversarial] of Object.entries(SCAN_ADVERSARIAL)) {
      const started = performance.now();
      scan({ text: adversarial });
      expect([name, performance.now() - started < 2_000]).toEqual([name, true]);
    }
  });

  it('refuses a text over 1,000,000 characters and bad shapes', () => {
    expect(() => scan({ text: 'a'.repeat(1_000_001) })).toThrow(
      expect.objectContaining({ code: 'INPUT_TOO_LARGE', status: 413 }) as Error,
    );
    const input = secureAi.scanContent!.input;
    expect(input.safeParse({ text: 1 }).success).toBe(false);
    expect(input.safeParse({ text: 'x', categories: ['MALWARE'] }).success).toBe(false);
    expect(input.safeParse({ text: 'x', categories: [] }).success).toBe(false);
  });

  it('stops when the caller has gone', () => {
    const error = (() => {
      try {
        scan({ text }, AbortSignal.abort());
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).code).toBe('ABORTED');
  });
});
