// Personal data: e-mail addresses, phone numbers (candidates found here, validated by libphonenumber-js), payment
// cards (Luhn and a known issuer prefix), IBANs (mod-97 and the country's length) and US social security numbers.
import { findNumbers } from 'libphonenumber-js/max';

import { checkAborted } from '../../protocol.ts';
import { type Candidate, matchAll } from './common.ts';

const EMAIL =
  /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,10}[A-Za-z]{2,24}(?![A-Za-z0-9-])/g;

function* emails(text: string, signal: AbortSignal): Generator<Candidate> {
  for (const m of matchAll(EMAIL, text, signal)) {
    const end = m.index + m[0].length;
    yield { category: 'PII', type: 'EMAIL', start: m.index, end, severity: 'LOW', confidence: 0.95, rank: 70 };
  }
}

/**
 * Phone-like runs: digit groups with single separators (optionally `+country` and an area code in parentheses),
 * or 7–15 contiguous digits. libphonenumber's own finder is far too slow to run over a megabyte of digits, so it
 * only judges these candidates, and at most MAX_PHONE_CANDIDATES of them per request.
 */
const PHONE_CANDIDATE =
  /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{1,4}){1,5}(?!\w)|(?<![\w+])\+?\d{7,15}(?!\w)/g;
const MAX_PHONE_CANDIDATES = 5_000;

function* phones(text: string, signal: AbortSignal): Generator<Candidate> {
  let judged = 0;
  for (const m of matchAll(PHONE_CANDIDATE, text, signal)) {
    const candidate = m[0];
    const digits = candidate.replace(/\D/g, '').length;
    if (digits > 15 || digits < (candidate.startsWith('+') ? 8 : 10)) continue;
    if (++judged > MAX_PHONE_CANDIDATES) return;
    if (judged % 256 === 0) checkAborted(signal);
    for (const found of findNumbers(candidate, { defaultCountry: 'US', v2: true })) {
      if (!found.number.isValid()) continue;
      const start = m.index + found.startsAt;
      const end = m.index + found.endsAt;
      yield { category: 'PII', type: 'PHONE', start, end, severity: 'LOW', confidence: 0.85, rank: 50 };
    }
  }
}

const CARD = /(?<![\d-])(?:\d[ -]?){12,18}\d(?!\d)/g;

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** The issuer by prefix, with the lengths its cards have. */
function cardLengths(digits: string): number[] | undefined {
  const two = Number(digits.slice(0, 2));
  const four = Number(digits.slice(0, 4));
  if (digits.startsWith('4')) return [13, 16, 19]; // Visa
  if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720)) return [16]; // Mastercard
  if (two === 34 || two === 37) return [15]; // American Express
  if (four === 6011 || two === 65) return [16, 17, 18, 19]; // Discover
  return undefined;
}

function* cards(text: string, signal: AbortSignal): Generator<Candidate> {
  for (const m of matchAll(CARD, text, signal)) {
    const digits = m[0].replace(/\D/g, '');
    if (!cardLengths(digits)?.includes(digits.length) || !luhn(digits)) continue;
    const end = m.index + m[0].length;
    yield { category: 'PII', type: 'CREDIT_CARD', start: m.index, end, severity: 'HIGH', confidence: 0.95, rank: 80 };
  }
}

/** IBAN lengths of common countries; others are accepted at 15–34 characters. */
const IBAN_LENGTHS = new Map(
  `AT20 BE16 BG22 CH21 CY28 CZ24 DE22 DK18 EE20 ES24 FI18 FR27 GB22 GR27 HR21 HU28 IE22
   IS26 IT27 LI21 LT20 LU20 LV21 MC27 MT31 NL18 NO15 PL28 PT25 RO24 SE24 SI19 SK24 SM27 TR26`
    .split(/\s+/)
    .map((entry) => [entry.slice(0, 2), Number(entry.slice(2))] as const),
);
const IBAN = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}/g;

/** ISO 13616 check: the rearranged number, letters as 10–35, is 1 modulo 97. */
function mod97(iban: string): boolean {
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rest = 0;
  for (const ch of rearranged) {
    const value = ch <= '9' ? ch : String(ch.charCodeAt(0) - 55);
    for (const digit of value) rest = (rest * 10 + Number(digit)) % 97;
  }
  return rest === 1;
}

function* ibans(text: string, signal: AbortSignal): Generator<Candidate> {
  for (const m of matchAll(IBAN, text, signal)) {
    const raw = m[0];
    const expected = IBAN_LENGTHS.get(raw.slice(0, 2));
    // The match may run on into following groups: cut it at the country's length (in compact characters).
    let end = raw.length;
    if (expected !== undefined) {
      let seen = 0;
      end = -1;
      for (let i = 0; i < raw.length; i += 1) {
        if (raw[i] !== ' ' && ++seen === expected) {
          end = i + 1;
          break;
        }
      }
      if (end < 0) continue;
    }
    if (/[A-Za-z0-9]/.test(text[m.index + end] ?? '')) continue;
    const compact = raw.slice(0, end).replaceAll(' ', '');
    if (compact.length < 15 || compact.length > 34 || !mod97(compact)) continue;
    yield {
      category: 'PII',
      type: 'IBAN',
      start: m.index,
      end: m.index + end,
      severity: 'MEDIUM',
      confidence: 0.97,
      rank: 80,
    };
  }
}

/** AAA-GG-SSSS with the never-issued areas (000, 666, 9xx), group 00 and serial 0000 excluded. */
const SSN = /(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])/g;

function* ssns(text: string, signal: AbortSignal): Generator<Candidate> {
  for (const m of matchAll(SSN, text, signal)) {
    const before = text.slice(Math.max(0, m.index - 40), m.index);
    const confidence = /ssn|social security/i.test(before) ? 0.9 : 0.6;
    const end = m.index + m[0].length;
    yield { category: 'PII', type: 'US_SSN', start: m.index, end, severity: 'HIGH', confidence, rank: 75 };
  }
}

export function* detectPii(text: string, signal: AbortSignal): Generator<Candidate> {
  yield* emails(text, signal);
  yield* cards(text, signal);
  yield* ibans(text, signal);
  yield* ssns(text, signal);
  yield* phones(text, signal);
}
