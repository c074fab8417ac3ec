// TOTP (RFC 6238) for MFA: secret generation, provisioning URI / QR code, and verification with replay
// protection. Pure functions: the caller owns storage (the sealed secret and the last accepted time step).
import { generate, generateSecret, type HashAlgorithm, verify } from 'otplib';
import QRCode from 'qrcode';

// The parameters every mainstream authenticator app supports; anything else silently breaks some apps.
export const TOTP_ALGORITHM = 'sha1' satisfies HashAlgorithm;
export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_SECONDS = 30;
// RFC 4226 §4 R6 recommends a 160-bit shared secret.
export const TOTP_SECRET_BYTES = 20;
// One step either side absorbs clock drift and the time a user takes to type; more only helps guessing.
const TOLERANCE_SECONDS = TOTP_PERIOD_SECONDS;

const CODE_PATTERN = /^[0-9]{6}$/;

export type TotpVerification = { valid: false } | { valid: true; timeStep: number };
// One shared object for every rejection, so a bad code and a malformed one look exactly alike.
const INVALID: TotpVerification = Object.freeze({ valid: false });

const epochSeconds = (nowMs: number) => Math.floor(nowMs / 1000);

/** A new base32 secret of 20 random bytes (32 characters, no padding). */
export function generateTotpSecret(): string {
  return generateSecret({ length: TOTP_SECRET_BYTES });
}

/**
 * The Key URI (`otpauth://totp/Issuer:account?...`) that authenticator apps read from the QR code.
 * Built by hand rather than with URLSearchParams, which encodes spaces as `+` that some apps show literally.
 */
export function otpauthUri({
  secret,
  accountName,
  issuer,
}: {
  secret: string;
  accountName: string;
  issuer: string;
}): string {
  // The label's first colon separates issuer from account, so the issuer (our configuration) must not have one;
  // a colon in the account name is percent-encoded and stays part of the account.
  if (issuer.length === 0 || issuer.includes(':')) throw new Error('TOTP issuer must be non-empty and without ":"');
  if (accountName.length === 0) throw new Error('TOTP account name must be non-empty');
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(accountName)}`;
  const params: [string, string][] = [
    ['secret', secret],
    ['issuer', issuer],
    ['algorithm', TOTP_ALGORITHM.toUpperCase()],
    ['digits', String(TOTP_DIGITS)],
    ['period', String(TOTP_PERIOD_SECONDS)],
  ];
  const query = params.map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join('&');
  return `otpauth://totp/${label}?${query}`;
}

/** A PNG data URL of the QR code for `uri`; error correction M is what phone cameras read reliably. */
export function qrCodeDataUrl(uri: string): Promise<string> {
  return QRCode.toDataURL(uri, { type: 'image/png', errorCorrectionLevel: 'M', margin: 2, width: 256 });
}

/**
 * Checks a 6-digit code against the current time step ± 1. A match counts only when its time step is strictly
 * greater than `lastTimeStep` (null = no code accepted yet): the caller stores the returned `timeStep`
 * atomically (compare-and-set), so each code is accepted at most once and a sniffed code cannot be replayed.
 * Malformed input gets the same `{ valid: false }` as a wrong code and never throws; a corrupt stored secret
 * does throw, because that is a server fault, not a wrong code.
 */
export async function verifyTotp({
  secret,
  code,
  lastTimeStep,
  now = Date.now(),
}: {
  secret: string;
  code: string;
  lastTimeStep: number | null;
  now?: number;
}): Promise<TotpVerification> {
  if (lastTimeStep !== null && !(Number.isSafeInteger(lastTimeStep) && lastTimeStep >= 0)) {
    throw new Error('lastTimeStep must be a non-negative integer or null');
  }
  // Checked before otplib sees it: otplib throws on some malformed tokens, and a cheap length-bounded check
  // keeps hostile input (huge strings, NUL bytes, non-ASCII digits) away from the crypto entirely.
  if (typeof code !== 'string' || code.length !== TOTP_DIGITS || !CODE_PATTERN.test(code)) return INVALID;
  const result = await verify({
    secret,
    token: code,
    algorithm: TOTP_ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    epoch: epochSeconds(now),
    epochTolerance: TOLERANCE_SECONDS,
    ...(lastTimeStep === null ? {} : { afterTimeStep: lastTimeStep }),
  });
  if (!result.valid || !('timeStep' in result)) return INVALID;
  // Belt and braces: otplib's afterTimeStep already enforces this, but replay safety should not hinge on it.
  if (lastTimeStep !== null && result.timeStep <= lastTimeStep) return INVALID;
  return { valid: true, timeStep: result.timeStep };
}

/** The current code for `secret` (tests and the end-to-end flow play the authenticator app with this). */
export function generateTotp({ secret, now = Date.now() }: { secret: string; now?: number }): Promise<string> {
  return generate({
    secret,
    algorithm: TOTP_ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    epoch: epochSeconds(now),
  });
}

/** The TOTP time step that contains `now` (ms epoch). */
export function totpTimeStep(now: number = Date.now()): number {
  return Math.floor(epochSeconds(now) / TOTP_PERIOD_SECONDS);
}

/**
 * Low-level TOTP with raw secret bytes and a chosen algorithm / length: exists so the RFC 6238 Appendix B
 * vectors can be checked against the same library the service uses. Not for production paths.
 */
export function totpAt({
  secretBytes,
  algorithm,
  digits,
  epochSeconds: epoch,
}: {
  secretBytes: Uint8Array;
  algorithm: HashAlgorithm;
  digits: 6 | 7 | 8;
  epochSeconds: number;
}): Promise<string> {
  return generate({ secret: secretBytes, algorithm, digits, period: TOTP_PERIOD_SECONDS, epoch });
}
