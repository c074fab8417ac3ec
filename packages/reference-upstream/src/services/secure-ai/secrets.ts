// Credentials: provider tokens recognised by their fixed prefixes and lengths, private key blocks, JWTs (header
// decoded), password assignments and, last, high-entropy strings. Every pattern is linear-time: it starts at a
// literal or behind a negative lookbehind (so a long run is tried from its start only), and every repetition
// is bounded or cannot overlap what follows it.
import { type Candidate, characterClasses, entropy, matchAll, round2, type Severity } from './common.ts';

interface Rule {
  type: string;
  pattern: RegExp;
  severity: Severity;
  confidence: number;
  /** More specific types win overlaps. */
  rank: number;
  valid?: (value: string) => boolean;
}

const hasDigitAndLetter = (value: string) => /\d/.test(value) && /[A-Za-z]/.test(value);

const PREFIXED: Rule[] = [
  {
    type: 'AWS_ACCESS_KEY_ID',
    pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])/g,
    severity: 'HIGH',
    confidence: 0.95,
    rank: 100,
  },
  {
    type: 'GITHUB_TOKEN',
    pattern:
      /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![A-Za-z0-9_])/g,
    severity: 'CRITICAL',
    confidence: 0.98,
    rank: 100,
  },
  {
    type: 'SLACK_TOKEN',
    pattern: /(?<![A-Za-z0-9-])xox[abprs]-[A-Za-z0-9-]{10,250}(?![A-Za-z0-9-])/g,
    severity: 'HIGH',
    confidence: 0.95,
    rank: 100,
    valid: (value) => /\d/.test(value.slice(5)),
  },
  {
    type: 'STRIPE_SECRET_KEY',
    pattern: /(?<![A-Za-z0-9_])[rs]k_live_[A-Za-z0-9]{24,247}(?![A-Za-z0-9_])/g,
    severity: 'CRITICAL',
    confidence: 0.98,
    rank: 100,
  },
  {
    type: 'GOOGLE_API_KEY',
    pattern: /(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])/g,
    severity: 'HIGH',
    confidence: 0.95,
    rank: 100,
  },
  {
    type: 'OPENAI_API_KEY',
    pattern: /(?<![A-Za-z0-9_-])sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,250}(?![A-Za-z0-9_-])/g,
    severity: 'HIGH',
    confidence: 0.9,
    rank: 95,
    valid: (value) => hasDigitAndLetter(value.slice(3)),
  },
];

function* prefixed(text: string, signal: AbortSignal): Generator<Candidate> {
  for (const rule of PREFIXED) {
    for (const m of matchAll(rule.pattern, text, signal)) {
      if (rule.valid && !rule.valid(m[0])) continue;
      const { type, severity, confidence, rank } = rule;
      yield { category: 'SECRET', type, start: m.index, end: m.index + m[0].length, severity, confidence, rank };
    }
  }
}

const BEGIN_KEY = /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----/g;
const END_KEY = /-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----/y;
/** A key block longer than this is reported by its header alone. */
const MAX_KEY_BLOCK = 20_000;

/** A private key: from its BEGIN line through its END line (or the header alone when the end is missing). */
function* privateKeys(text: string, signal: AbortSignal): Generator<Candidate> {
  for (const m of matchAll(BEGIN_KEY, text, signal)) {
    let end = m.index + m[0].length;
    const endAt = text.indexOf('-----END ', end);
    if (endAt >= 0 && endAt - m.index < MAX_KEY_BLOCK) {
      const closing = new RegExp(END_KEY.source, END_KEY.flags);
      closing.lastIndex = endAt;
      const found = closing.exec(text);
      if (found) end = endAt + found[0].length;
    }
    yield {
      category: 'SECRET',
      type: 'PRIVATE_KEY',
      start: m.index,
      end,
      severity: 'CRITICAL',
      confidence: 0.99,
      rank: 110,
    };
  }
}

const JWT =
  /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,4000}\.[A-Za-z0-9_-]{2,16000}\.[A-Za-z0-9_-]{0,4000}(?![A-Za-z0-9_-])/g;

function decodeJson(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Three base64url segments whose header decodes to a JSON object naming an `alg`. */
function* jwts(text: string, signal: AbortSignal): Generator<Candidate> {
  for (const m of matchAll(JWT, text, signal)) {
    const [header, payload] = m[0].split('.');
    const decoded = decodeJson(header!) as { alg?: unknown } | undefined;
    if (typeof decoded !== 'object' || decoded === null || typeof decoded.alg !== 'string') continue;
    const claims = decodeJson(payload!);
    const confidence = typeof claims === 'object' && claims !== null ? 0.97 : 0.8;
    yield {
      category: 'SECRET',
      type: 'JWT',
      start: m.index,
      end: m.index + m[0].length,
      severity: 'HIGH',
      confidence,
      rank: 90,
    };
  }
}

/** `secret … <40 base64 characters>` on one line: AWS secret keys have no prefix, only their context. */
const FORTY = /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g;
const CONTEXT = 100;

function* awsSecrets(text: string, signal: AbortSignal): Generator<Candidate> {
  for (const m of matchAll(FORTY, text, signal)) {
    if (characterClasses(m[0]) < 2) continue;
    const before = text.slice(Math.max(0, m.index - CONTEXT), m.index);
    const line = before.slice(before.lastIndexOf('\n') + 1);
    if (!/secret/i.test(line)) continue;
    const confidence = /aws/i.test(line) ? 0.95 : 0.75;
    yield {
      category: 'SECRET',
      type: 'AWS_SECRET_ACCESS_KEY',
      start: m.index,
      end: m.index + m[0].length,
      severity: 'CRITICAL',
      confidence,
      rank: 85,
    };
  }
}

/**
 * `password = "…"`, `"db_passwd": '…'`, `PWD=…` (unquoted only when written like an env file, `KEY=value`).
 * The finding is the value, at least 8 characters; references and placeholders (`${…}`, `<…>`, `****`) are not.
 */
const PASSWORD =
  /(?:password|passwd|pwd)[A-Za-z0-9_-]{0,20}(?:["']?[ \t]{0,5}(?::=|=>|[:=])[ \t]{0,5}(["'])([^"'\r\n]{8,200})\1|=([^\s"'`]{8,200})(?=\s|$))/dgi;
const PLACEHOLDER = /^(?:\*+|x+|\.+|<[^>]*>|\$.*|\{\{.*|%.*%|changeme|null|undefined|none)$/i;

function* passwords(text: string, signal: AbortSignal): Generator<Candidate> {
  for (const m of matchAll(PASSWORD, text, signal)) {
    const group = m[2] !== undefined ? 2 : 3;
    const span = m.indices?.[group];
    const value = m[group];
    if (!span || value === undefined || PLACEHOLDER.test(value)) continue;
    const [start, end] = span;
    yield { category: 'SECRET', type: 'PASSWORD_ASSIGNMENT', start, end, severity: 'HIGH', confidence: 0.8, rank: 70 };
  }
}

/** Tokens of 20–512 base64/hex characters (longer runs are data, not keys), judged by their entropy. */
const TOKEN = /(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{20,512}={0,2}(?![A-Za-z0-9+/=_-])/g;

function* highEntropy(text: string, signal: AbortSignal): Generator<Candidate> {
  for (const m of matchAll(TOKEN, text, signal)) {
    const value = m[0];
    const hex = /^[0-9a-fA-F]+$/.test(value);
    const threshold = hex ? 3.0 : 4.0;
    if (hex ? !hasDigitAndLetter(value) : characterClasses(value) < 2) continue;
    const bits = entropy(value);
    if (bits < threshold) continue;
    const confidence = round2(Math.min(0.9, 0.5 + (bits - threshold) / 4));
    yield {
      category: 'SECRET',
      type: 'HIGH_ENTROPY_STRING',
      start: m.index,
      end: m.index + value.length,
      severity: 'MEDIUM',
      confidence,
      rank: 10,
    };
  }
}

export function* detectSecrets(text: string, signal: AbortSignal): Generator<Candidate> {
  yield* prefixed(text, signal);
  yield* privateKeys(text, signal);
  yield* jwts(text, signal);
  yield* awsSecrets(text, signal);
  yield* passwords(text, signal);
  yield* highEntropy(text, signal);
}
