// jws.ts against jose: the same tokens accepted and refused (jose is the reference), and tokens signed here
// verified by jose.
import { generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';

import { signJwt, verifyJwt } from '../src/jws.ts';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

const checks = {
  typ: 'g3d-test+jwt',
  issuer: 'issuer',
  audience: 'identity',
  requiredClaims: ['exp', 'iat'],
  clockToleranceS: 5,
  maxTokenAgeS: 60,
};
const joseOptions = {
  algorithms: ['EdDSA'],
  typ: checks.typ,
  issuer: checks.issuer,
  audience: checks.audience,
  requiredClaims: checks.requiredClaims,
  clockTolerance: checks.clockToleranceS,
  maxTokenAge: `${checks.maxTokenAgeS}s`,
};

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

let keys: KeyPair;
let other: KeyPair;
beforeAll(async () => {
  keys = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  other = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
});

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = { sub: 'u', iss: 'issuer', aud: 'identity', iat: now(), exp: now() + 60 };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[name];
    else base[name] = value;
  }
  return base;
}

async function josed(
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
  key: KeyPair = keys,
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'EdDSA', typ: checks.typ, ...header } as { alg: string })
    .sign(key.privateKey);
}

// Time cases keep ≥ 3 s from every bound (tolerance 5 s, age 60 s): times are whole seconds and a loaded box
// verifies a while after it signs, so a 1 s margin flipped a case now and then.
const cases: [string, () => Promise<string>][] = [
  ['valid', () => josed(claims())],
  ['valid, audience in an array', () => josed(claims({ aud: ['other', 'identity'] }))],
  ['valid, typ with application/ and upper case', () => josed(claims(), { typ: 'application/G3D-TEST+JWT' })],
  ['valid, nbf within tolerance', () => josed(claims({ nbf: now() + 2 }))],
  ['valid, iat slightly ahead', () => josed(claims({ iat: now() + 2 }))],
  ['valid, exp just within tolerance', () => josed(claims({ exp: now() - 2, iat: now() - 30 }))],
  ['other key', () => josed(claims(), {}, other)],
  ['wrong typ', () => josed(claims(), { typ: 'JWT' })],
  ['no typ', () => josed(claims(), { typ: undefined })],
  ['typ not a string', () => josed(claims(), { typ: 1 })],
  ['wrong issuer', () => josed(claims({ iss: 'someone' }))],
  ['no issuer', () => josed(claims({ iss: undefined }))],
  ['wrong audience', () => josed(claims({ aud: 'organization' }))],
  ['audience array without ours', () => josed(claims({ aud: ['organization'] }))],
  ['audience not a string', () => josed(claims({ aud: 7 }))],
  ['no audience', () => josed(claims({ aud: undefined }))],
  ['expired', () => josed(claims({ exp: now() - 10 }))],
  ['exp not a number', () => josed(claims({ exp: String(now() + 60) }))],
  ['no exp', () => josed(claims({ exp: undefined }))],
  ['no iat', () => josed(claims({ iat: undefined }))],
  ['iat not a number', () => josed(claims({ iat: 'now' }))],
  ['iat too old', () => josed(claims({ iat: now() - 70 }))],
  ['iat in the future', () => josed(claims({ iat: now() + 10 }))],
  ['nbf in the future', () => josed(claims({ nbf: now() + 10 }))],
  ['nbf not a number', () => josed(claims({ nbf: 'soon' }))],
  [
    'crit header with an unknown extension',
    () => josedRaw(b64({ alg: 'EdDSA', typ: checks.typ, crit: ['exp'], exp: 1 }), b64(claims())),
  ],
  ['alg none', async () => `${b64({ alg: 'none', typ: checks.typ })}.${b64(claims())}.`],
  [
    'alg none with a copied signature',
    async () => {
      const signature = (await josed(claims())).split('.')[2] as string;
      return `${b64({ alg: 'none', typ: checks.typ })}.${b64(claims())}.${signature}`;
    },
  ],
  [
    'HS256 keyed with the public key',
    async () =>
      new SignJWT(claims())
        .setProtectedHeader({ alg: 'HS256', typ: checks.typ })
        .sign(new TextEncoder().encode('0123456789abcdef0123456789abcdef')),
  ],
  [
    'payload swapped',
    async () => {
      const [h, , s] = (await josed(claims())).split('.');
      return `${h}.${b64(claims({ sub: 'admin' }))}.${s}`;
    },
  ],
  [
    'header swapped',
    async () => {
      const [, p, s] = (await josed(claims())).split('.');
      return `${b64({ alg: 'EdDSA', typ: checks.typ, kid: 'x' })}.${p}.${s}`;
    },
  ],
  ['without signature', async () => (await josed(claims())).split('.').slice(0, 2).join('.')],
  ['empty signature', async () => `${(await josed(claims())).split('.').slice(0, 2).join('.')}.`],
  ['four parts', async () => `${await josed(claims())}.x`],
  ['payload not JSON', async () => josedRaw(b64({ alg: 'EdDSA', typ: checks.typ }), b64('not json'))],
  ['payload an array', async () => josedRaw(b64({ alg: 'EdDSA', typ: checks.typ }), b64([claims()]))],
  ['header an array', async () => josedRaw(b64([{ alg: 'EdDSA', typ: checks.typ }]), b64(claims()))],
  ['garbage', async () => 'a.b.c'],
  ['empty', async () => ''],
];

/** A token with the given encoded parts and a valid signature over them (jose would never produce it). */
async function josedRaw(header: string, payload: string): Promise<string> {
  const { webcrypto } = await import('node:crypto');
  const signature = await webcrypto.subtle.sign(
    'Ed25519',
    keys.privateKey,
    new TextEncoder().encode(`${header}.${payload}`),
  );
  return `${header}.${payload}.${Buffer.from(signature).toString('base64url')}`;
}

describe('verifyJwt decides like jose jwtVerify', () => {
  it.each(cases)('%s', async (_name, make) => {
    const token = await make();
    const jose = await jwtVerify(token, keys.publicKey, joseOptions).then(
      (result) => result.payload as Record<string, unknown>,
      () => null,
    );
    let ours: Record<string, unknown> | null = null;
    try {
      ours = verifyJwt(token, keys.publicKey, checks);
    } catch {
      ours = null;
    }
    expect(ours).toEqual(jose);
  });

  it('has valid and invalid cases', async () => {
    const outcomes = await Promise.all(
      cases.map(async ([, make]) =>
        jwtVerify(await make(), keys.publicKey, joseOptions).then(
          () => true,
          () => false,
        ),
      ),
    );
    expect(outcomes.filter(Boolean).length).toBe(6);
  });
});

it('refuses every crit header, even one jose accepts (stricter: our tokens carry none)', async () => {
  const token = await josedRaw(b64({ alg: 'EdDSA', typ: checks.typ, crit: ['b64'], b64: true }), b64(claims()));
  await expect(jwtVerify(token, keys.publicKey, joseOptions)).resolves.toBeTruthy();
  expect(() => verifyJwt(token, keys.publicKey, checks)).toThrow();
});

describe('signJwt', () => {
  it('makes tokens jose verifies, with the header and claims given', async () => {
    const payload = claims({ roles: ['admin'], nested: { a: 1 }, iat: undefined, exp: undefined });
    const before = now();
    const token = signJwt(keys.privateKey, { typ: checks.typ, kid: 'kid-1', ttlSeconds: 60 }, payload);
    const verified = await jwtVerify(token, keys.publicKey, joseOptions);
    expect(verified.protectedHeader).toEqual({ alg: 'EdDSA', typ: checks.typ, kid: 'kid-1' });
    const { iat, exp, ...rest } = verified.payload;
    expect(rest).toEqual(payload);
    expect(iat).toBeGreaterThanOrEqual(before);
    expect(exp).toBe((iat as number) + 60);
    await expect(jwtVerify(token, other.publicKey, joseOptions)).rejects.toThrow();
  });
});
