// Attack payloads in text bound for a database, a browser, a shell, a file system or a language model. Patterns
// are case-insensitive, start at a literal and repeat only boundedly (`\s{0,5}`), so they stay linear-time.
import { type Candidate, matchAll, type Severity } from './common.ts';

interface Rule {
  type: string;
  pattern: RegExp;
  severity: Severity;
  confidence: number;
}

const SHELL = String.raw`(?:rm|cat|curl|wget|nc|ncat|netcat|bash|sh|zsh|chmod|chown|python3?|perl|ruby|whoami|id|uname|ls|echo|ping|nslookup|base64)`;

const RULES: Rule[] = [
  // ' OR 1=1, ' or 'a'='a, " OR true
  {
    type: 'SQL_INJECTION',
    pattern: /['"]\s{0,5}(?:or|and)\s{1,5}(?:true\b|(['"]?)\w{1,20}\1\s{0,3}=\s{0,3}(['"]?)\w{1,20}\2)/gi,
    severity: 'HIGH',
    confidence: 0.85,
  },
  { type: 'SQL_INJECTION', pattern: /\bunion\s{1,10}(?:all\s{1,10})?select\b/gi, severity: 'HIGH', confidence: 0.8 },
  {
    type: 'SQL_INJECTION',
    pattern: /;\s{0,5}(?:drop\s{1,10}(?:table|database)|delete\s{1,10}from|truncate\s{1,10}table|shutdown)\b/gi,
    severity: 'HIGH',
    confidence: 0.85,
  },
  // A quote closing the literal, then a comment swallowing the rest of the query: admin'--, x') ; --
  { type: 'SQL_INJECTION', pattern: /\w'\s{0,3}\)?\s{0,3};?\s{0,3}--(?!\S)/g, severity: 'MEDIUM', confidence: 0.6 },
  {
    type: 'SQL_INJECTION',
    pattern: /\b(?:sleep|pg_sleep|benchmark)\s{0,3}\(\s{0,3}\d|\bwaitfor\s{1,5}delay\b/gi,
    severity: 'HIGH',
    confidence: 0.75,
  },
  { type: 'XSS', pattern: /<\s{0,3}script\b|<\s{0,3}\/\s{0,3}script\s{0,3}>/gi, severity: 'HIGH', confidence: 0.9 },
  { type: 'XSS', pattern: /\b(?:javascript|vbscript)\s{0,3}:/gi, severity: 'HIGH', confidence: 0.8 },
  {
    type: 'XSS',
    pattern: /\bon(?:error|load|click|mouseover|mouseenter|focus|blur|submit|toggle|animationstart|pageshow)\s{0,3}=/gi,
    severity: 'HIGH',
    confidence: 0.8,
  },
  {
    type: 'XSS',
    pattern: /<\s{0,3}(?:iframe|object|embed)\b|\bdocument\.cookie\b/gi,
    severity: 'MEDIUM',
    confidence: 0.6,
  },
  {
    type: 'COMMAND_INJECTION',
    pattern: /(?:;|&&|\|\|)\s{0,5}rm\s{1,5}-[a-z]{0,3}[rf]/gi,
    severity: 'CRITICAL',
    confidence: 0.9,
  },
  {
    type: 'COMMAND_INJECTION',
    pattern: new RegExp(String.raw`\$\(\s{0,3}${SHELL}\b|\x60\s{0,3}${SHELL}\b[^\x60\n]{0,100}\x60`, 'gi'),
    severity: 'HIGH',
    confidence: 0.75,
  },
  {
    type: 'COMMAND_INJECTION',
    pattern: /\|\s{0,3}(?:nc|ncat|netcat|bash|sh)\b|;\s{0,5}(?:cat|curl|wget|chmod)\s|\/etc\/(?:passwd|shadow)\b/gi,
    severity: 'HIGH',
    confidence: 0.75,
  },
  {
    type: 'PATH_TRAVERSAL',
    pattern: /(?:\.\.[\\/]|%2e%2e(?:%2f|%5c)){2,}/gi,
    severity: 'MEDIUM',
    confidence: 0.8,
  },
  {
    type: 'PROMPT_INJECTION',
    pattern:
      /\bignore\s{1,5}(?:all\s{1,5})?(?:the\s{1,5}|your\s{1,5})?(?:previous|prior|above|earlier)\s{1,5}(?:instructions|prompts?|directions|rules|messages)\b/gi,
    severity: 'HIGH',
    confidence: 0.9,
  },
  {
    type: 'PROMPT_INJECTION',
    pattern:
      /\bdisregard\s{1,5}(?:all\s{1,5}|any\s{1,5})?(?:the\s{1,5}|your\s{1,5})?(?:previous|prior|above|earlier|system|instructions|rules|guidelines)\b/gi,
    severity: 'HIGH',
    confidence: 0.85,
  },
  {
    type: 'PROMPT_INJECTION',
    pattern: /\bforget\s{1,5}(?:all\s{1,5})?(?:your|previous|prior)\s{1,5}(?:instructions|rules)\b/gi,
    severity: 'HIGH',
    confidence: 0.85,
  },
  { type: 'PROMPT_INJECTION', pattern: /\byou\s{1,5}are\s{1,5}now\b/gi, severity: 'MEDIUM', confidence: 0.6 },
  {
    type: 'PROMPT_INJECTION',
    pattern: /\b(?:system\s{1,5}prompt|developer\s{1,5}mode|jailbreak)\b/gi,
    severity: 'MEDIUM',
    confidence: 0.6,
  },
];

export function* detectInjections(text: string, signal: AbortSignal): Generator<Candidate> {
  for (const { type, pattern, severity, confidence } of RULES) {
    for (const m of matchAll(pattern, text, signal)) {
      const end = m.index + m[0].length;
      yield { category: 'INJECTION', type, start: m.index, end, severity, confidence, rank: 50 };
    }
  }
}
