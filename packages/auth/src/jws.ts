// Compact EdDSA (Ed25519) JWTs with node:crypto's one-shot sign/verify, for the tokens minted and checked on
// every request (gateway tokens, access tokens at login). jose goes through WebCrypto: promise jobs and
// algorithm normalization that cost several times the signature itself. The checks mirror jose's jwtVerify
// for the options used here (test/jws.test.ts compares both on valid and broken tokens); they are stricter
// only in refusing any `crit` header and non-base64url characters, neither of which our tokens ever carry.
import { KeyObject, sign, verify } from 'node:crypto';

import type { CryptoKey } from 'jose';

const keyObjects = new WeakMap<CryptoKey, KeyObject>();

/** The node:crypto view of a WebCrypto key (made once per key). */
function keyObject(key: CryptoKey): KeyObject {
  let object = keyObjects.get(key);
  if (!object) {
    object = KeyObject.from(key);
    keyObjects.set(key, object);
  }
  return object;
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Signs `claims` with an Ed25519 private key, adding iat (now) and exp (`ttlSeconds` later); the header is
 * { alg: EdDSA, typ, kid }.
 */
export function signJwt(
  privateKey: CryptoKey,
  header: { typ: string; kid: string; ttlSeconds: number },
  claims: Record<string, unknown>,
): string {
  const iat = Math.floor(Date.now() / 1000);
  const payload = { ...claims, iat, exp: iat + header.ttlSeconds };
  const input = `${base64url({ alg: 'EdDSA', typ: header.typ, kid: header.kid })}.${base64url(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), keyObject(privateKey)).toString('base64url')}`;
}

export interface JwtChecks {
  typ: string;
  issuer: string;
  audience: string;
  /** Claims that must be present (iss, aud, and iat with maxTokenAgeS, are required anyway). */
  requiredClaims: string[];
  /** Seconds of clock skew allowed on exp, nbf and iat. */
  clockToleranceS: number;
  /** The oldest iat accepted, in seconds before now. */
  maxTokenAgeS?: number;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function decodeObject(part: string): Record<string, unknown> {
  if (!BASE64URL.test(part)) throw new Error('not base64url');
  const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(part, 'base64url')));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
  return value as Record<string, unknown>;
}

// As jose compares typ values: case-insensitive, "application/" implied.
const normalizeTyp = (typ: string) => (typ.includes('/') ? typ.toLowerCase() : `application/${typ.toLowerCase()}`);

/** Verifies a compact JWS signed with `publicKey`'s private half and checks its claims; throws on any failure. */
export function verifyJwt(token: string, publicKey: CryptoKey, checks: JwtChecks): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('invalid compact JWS');
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const header = decodeObject(encodedHeader);
  if (header.crit !== undefined) throw new Error('unsupported crit header');
  if (header.alg !== 'EdDSA') throw new Error('alg not allowed');
  if (!BASE64URL.test(encodedSignature)) throw new Error('signature not base64url');
  const signed = Buffer.from(`${encodedHeader}.${encodedPayload}`);
  if (!verify(null, signed, keyObject(publicKey), Buffer.from(encodedSignature, 'base64url'))) {
    throw new Error('signature verification failed');
  }
  const claims = decodeObject(encodedPayload);
  if (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== normalizeTyp(checks.typ)) {
    throw new Error('unexpected typ');
  }
  const required = [...checks.requiredClaims, 'iss', 'aud', ...(checks.maxTokenAgeS !== undefined ? ['iat'] : [])];
  for (const claim of required) if (!Object.hasOwn(claims, claim)) throw new Error(`missing ${claim}`);
  if (claims.iss !== checks.issuer) throw new Error('unexpected iss');
  const aud = claims.aud;
  if (!(aud === checks.audience || (Array.isArray(aud) && aud.includes(checks.audience)))) {
    throw new Error('unexpected aud');
  }
  const now = Math.floor(Date.now() / 1000);
  const tolerance = checks.clockToleranceS;
  const time = (claim: 'iat' | 'nbf' | 'exp') => {
    const value = claims[claim];
    if (value !== undefined && typeof value !== 'number') throw new Error(`${claim} must be a number`);
    return value;
  };
  const iat = time('iat');
  const nbf = time('nbf');
  if (nbf !== undefined && nbf > now + tolerance) throw new Error('nbf in the future');
  const exp = time('exp');
  if (exp !== undefined && exp <= now - tolerance) throw new Error('expired');
  if (checks.maxTokenAgeS !== undefined) {
    const age = now - (iat as number);
    if (age - tolerance > checks.maxTokenAgeS) throw new Error('iat too far in the past');
    if (age < -tolerance) throw new Error('iat in the future');
  }
  return claims;
}
