// Access tokens, refresh tokens, logout and sessions, end to end through the gateway: every forged, stale or
// malformed credential gets exactly 401 + UNAUTHENTICATED at the edge, refresh tokens rotate (with reuse
// detection ending the session), and a revoked session's access tokens stop working at once. Never a 500.
import { randomUUID } from 'node:crypto';

import { loadOrCreateSigningKey, type SigningKey } from '@g3d/auth';
import {
  base64url,
  type CryptoKey,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ADMIN, gql, type GraphQLResponse, startTestPlatform, type TestPlatform } from './helpers.ts';

/** The refresh grace window of identity's SessionService (not configurable: refreshGraceSeconds = 10). */
const REFRESH_GRACE_MS = 10_000;

const ME = '{ me { id email } }';
const TOKEN_FIELDS = 'accessToken tokenType expiresIn refreshToken refreshExpiresIn user { id email }';
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { ${TOKEN_FIELDS} } }`;
const REFRESH = `mutation($refreshToken: String!) { refreshTokens(refreshToken: $refreshToken) { ${TOKEN_FIELDS} } }`;
const SESSIONS = '{ mySessions { id current } }';
const REVOKE_SESSION = 'mutation($id: ID!) { revokeSession(id: $id) }';

interface Tokens {
  accessToken: string;
  tokenType: string;
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
  user: { id: string; email: string };
}

let platform: TestPlatform;
let identityKey: SigningKey;
/** Every response seen by this file: none may be a 500 or carry INTERNAL_SERVER_ERROR. */
const seen: { status: number; codes: unknown[] }[] = [];

async function call<T = Record<string, unknown>>(
  query: string,
  options: Parameters<typeof gql>[2] = {},
): Promise<GraphQLResponse<T>> {
  const response = await gql<T>(platform.gatewayUrl, query, options);
  seen.push({ status: response.status, codes: (response.errors ?? []).map((e) => e.extensions?.code) });
  return response;
}

async function signIn(email = ADMIN.email, password = ADMIN.password): Promise<Tokens> {
  const result = await call<{ login: Tokens }>(LOGIN, { variables: { input: { email, password } } });
  expect(result.errors).toBeUndefined();
  return result.data?.login as Tokens;
}

async function refresh(refreshToken: string, token?: string) {
  return call<{ refreshTokens: Tokens }>(REFRESH, { variables: { refreshToken }, ...(token ? { token } : {}) });
}

const sessionOf = (accessToken: string) => decodeJwt(accessToken).sid as string;

/** The gateway refuses the request at the edge: HTTP 401, UNAUTHENTICATED, no data. */
function expectRefused(response: GraphQLResponse, message?: string) {
  expect(response.status).toBe(401);
  expect(response.data).toBeUndefined();
  expect(response.errors).toHaveLength(1);
  expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  if (message) expect(response.errors?.[0]?.message).toBe(message);
}

/** A GraphQL-level failure of one operation (the request itself was accepted by the gateway). */
function expectFailure(response: GraphQLResponse, code: string, message?: string) {
  expect(response.status).toBe(200);
  expect(response.data ?? null).toBeNull();
  expect(response.errors?.[0]?.extensions?.code).toBe(code);
  if (message) expect(response.errors?.[0]?.message).toBe(message);
}

async function expectMe(token: string, user: { id: string; email: string }) {
  const result = await call<{ me: { id: string; email: string } }>(ME, { token });
  expect(result.status).toBe(200);
  expect(result.errors).toBeUndefined();
  expect(result.data?.me).toEqual(user);
}

/** The session's access token is refused with 'Session revoked' within `withinMs` (polled every 50 ms). */
async function expectRevokedWithin(token: string, withinMs = 1_000) {
  const deadline = Date.now() + withinMs;
  let result = await call(ME, { token });
  while (result.status !== 401 && Date.now() < deadline) {
    await sleep(50);
    result = await call(ME, { token });
  }
  expectRefused(result, 'Session revoked');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Registers an account and confirms it with the link from the development mailbox (no session yet). */
async function registerVerifiedUser(email: string, password: string, firstName: string): Promise<void> {
  const registered = await call('mutation($input: RegisterInput!) { register(input: $input) { message } }', {
    variables: {
      input: {
        email,
        password,
        firstName,
        lastName: 'Tester',
        acceptTerms: true,
        acceptPrivacyPolicy: true,
        gdprConsent: false,
      },
    },
  });
  expect(registered.errors).toBeUndefined();
  const mailbox = await call<{ devMailbox: { kind: string; text: string }[] }>(
    'query($to: String!) { devMailbox(to: $to) { kind text } }',
    { variables: { to: email } },
  );
  const mail = mailbox.data?.devMailbox.find((m) => m.kind === 'verify_email');
  const link = /https?:\/\/\S+/.exec(mail?.text ?? '')?.[0];
  const token = link ? new URL(link).searchParams.get('token') : null;
  if (!token) throw new Error(`no verification link for ${email}: ${JSON.stringify(mailbox)}`);
  const verified = await call('mutation($token: String!) { verifyEmail(token: $token) }', { variables: { token } });
  expect(verified.data).toEqual({ verifyEmail: true });
}

const BOB = { email: 'bob@b.example', password: 'violet kettle orbit 2931' };
const CAROL = { email: 'carol@c.example', password: 'amber lantern quartz 8462' };

let admin: Tokens;

// Refresh-token reuse past the grace window needs > 10 s of real time: the first rotation happens here, and
// the check is the file's last test, so the wait overlaps the rest of the file.
let reuse: { original: Tokens; rotated: Tokens; rotatedAt: number };

beforeAll(async () => {
  platform = await startTestPlatform();
  identityKey = await loadOrCreateSigningKey(platform.dataDir, 'identity');
  admin = await signIn();
  const original = await signIn();
  const rotated = await refresh(original.refreshToken);
  expect(rotated.errors).toBeUndefined();
  reuse = { original, rotated: rotated.data?.refreshTokens as Tokens, rotatedAt: Date.now() };
  await registerVerifiedUser(BOB.email, BOB.password, 'Bob');
  await registerVerifiedUser(CAROL.email, CAROL.password, 'Carol');
});
afterAll(() => platform?.close());

afterEach(() => {
  const batch = seen.splice(0);
  expect(batch.filter((r) => r.status >= 500)).toEqual([]);
  expect(batch.flatMap((r) => r.codes).filter((c) => c === 'INTERNAL_SERVER_ERROR')).toEqual([]);
});

describe('access tokens at the gateway', () => {
  /** Claims of a real, live admin session, with fresh times: only the tested defect differs. */
  const validClaims = (): JWTPayload => {
    const now = Math.floor(Date.now() / 1000);
    return { ...decodeJwt(admin.accessToken), iat: now, exp: now + 300, jti: randomUUID() };
  };
  const header = () => ({ alg: 'EdDSA', typ: 'at+jwt', kid: identityKey.kid });

  async function forge(
    options: {
      claims?: JWTPayload;
      omit?: string[];
      header?: Record<string, unknown>;
      key?: CryptoKey | Uint8Array;
    } = {},
  ): Promise<string> {
    const payload: JWTPayload = { ...validClaims(), ...options.claims };
    for (const claim of options.omit ?? []) delete payload[claim];
    return new SignJWT(payload)
      .setProtectedHeader({ ...header(), ...options.header } as { alg: string })
      .sign(options.key ?? identityKey.privateKey);
  }

  const encodeJson = (value: unknown) => base64url.encode(JSON.stringify(value));

  it('accepts a valid access token', async () => {
    expect(admin.tokenType).toBe('Bearer');
    expect(admin.expiresIn).toBe(900);
    expect(admin.user.email).toBe(ADMIN.email);
    await expectMe(admin.accessToken, admin.user);
  });

  it('issues tokens of the documented shape', () => {
    expect(decodeProtectedHeader(admin.accessToken)).toEqual(header());
    const claims = decodeJwt(admin.accessToken);
    expect(claims).toMatchObject({ iss: 'g3d-identity', aud: 'g3d-platform', sub: admin.user.id });
    expect(claims.exp).toBe((claims.iat as number) + 900);
    expect(typeof claims.sid).toBe('string');
    expect(typeof claims.jti).toBe('string');
  });

  it('accepts a token forged here with the real key and claims (control for the cases below)', async () => {
    await expectMe(await forge(), admin.user);
    // Within the 5 s clock tolerance.
    const now = Math.floor(Date.now() / 1000);
    await expectMe(await forge({ claims: { exp: now - 2 } }), admin.user);
  });

  const stranger = () => generateKeyPair('EdDSA', { crv: 'Ed25519' }).then((pair) => pair.privateKey);
  const now = () => Math.floor(Date.now() / 1000);

  const forgeries: [string, () => Promise<string>][] = [
    ['alg none', async () => `${encodeJson({ ...header(), alg: 'none' })}.${encodeJson(validClaims())}.`],
    [
      'alg none with a copied signature',
      async () => {
        const signature = admin.accessToken.split('.')[2] as string;
        return `${encodeJson({ ...header(), alg: 'none' })}.${encodeJson(validClaims())}.${signature}`;
      },
    ],
    [
      'HS256 with the raw public key as HMAC secret',
      () => forge({ header: { alg: 'HS256' }, key: base64url.decode(identityKey.publicJwk.x as string) }),
    ],
    [
      'HS256 with the public JWK JSON as HMAC secret',
      () => forge({ header: { alg: 'HS256' }, key: new TextEncoder().encode(JSON.stringify(identityKey.publicJwk)) }),
    ],
    ['another Ed25519 key with the same kid', async () => forge({ key: await stranger() })],
    ['another Ed25519 key with an unknown kid', async () => forge({ key: await stranger(), header: { kid: 'x' } })],
    [
      'claims changed after signing',
      async () => {
        const [h, , s] = (await forge()).split('.');
        return `${h}.${encodeJson({ ...validClaims(), roles: ['user', 'admin', 'super_admin', 'root'] })}.${s}`;
      },
    ],
    ['wrong aud', () => forge({ claims: { aud: 'someone-else' } })],
    ['no aud', () => forge({ omit: ['aud'] })],
    ['wrong iss', () => forge({ claims: { iss: 'evil-identity' } })],
    ['expired beyond the tolerance', () => forge({ claims: { iat: now() - 1_000, exp: now() - 60 } })],
    ['no exp', () => forge({ omit: ['exp'] })],
    ['nbf in the future beyond the tolerance', () => forge({ claims: { nbf: now() + 60 } })],
    ['missing sid', () => forge({ omit: ['sid'] })],
    ['sid not a string', () => forge({ claims: { sid: 42 } })],
    ['missing sub', () => forge({ omit: ['sub'] })],
    ['wrong typ (JWT)', () => forge({ header: { typ: 'JWT' } })],
    ['no typ', () => forge({ header: { typ: undefined } })],
    ['truncated', async () => admin.accessToken.slice(0, -10)],
    ['without its signature', async () => admin.accessToken.split('.').slice(0, 2).join('.')],
    ['with an extra segment', async () => `${admin.accessToken}.${encodeJson({})}`],
    ['not a JWT', async () => 'not-a-jwt'],
  ];

  it.each(forgeries)('refuses an access token: %s', async (_name, make) => {
    expectRefused(await call(ME, { token: await make() }), 'Invalid or expired access token');
  });

  const badHeaders: [string, string][] = [
    ['a 10 KB garbage Bearer value', `Bearer ${'A'.repeat(10 * 1024)}`],
    ['a 10 KB Bearer value of JWT characters', `Bearer ${'eyJ.'.repeat(2_560)}`],
    ['Basic credentials', `Basic ${Buffer.from(`${ADMIN.email}:${ADMIN.password}`).toString('base64')}`],
    ['an empty Bearer', 'Bearer '],
    ['Bearer without a space', 'Bearer'],
    ['two Bearer tokens', 'Bearer a.b.c Bearer d.e.f'],
    ['a raw token without a scheme', 'eyJhbGciOiJub25lIn0.e30.'],
  ];

  it.each(badHeaders)('refuses an Authorization header: %s', async (_name, authorization) => {
    expectRefused(await call(ME, { headers: { authorization } }));
  });

  it('refuses a valid token sent as a 10 KB header (valid token + padding)', async () => {
    expectRefused(await call(ME, { token: `${admin.accessToken}${'A'.repeat(10 * 1024)}` }));
  });
});

describe('refresh tokens', () => {
  it('rotates: new tokens for the same session, usable at the gateway', async () => {
    const first = await signIn();
    const result = await refresh(first.refreshToken);
    expect(result.errors).toBeUndefined();
    const next = result.data?.refreshTokens as Tokens;
    expect(next.user).toEqual(admin.user);
    expect(next.tokenType).toBe('Bearer');
    expect(next.expiresIn).toBe(900);
    expect(next.refreshExpiresIn).toBeGreaterThan(0);
    expect(next.refreshToken).not.toBe(first.refreshToken);
    expect(next.accessToken).not.toBe(first.accessToken);
    expect(sessionOf(next.accessToken)).toBe(sessionOf(first.accessToken));
    await expectMe(next.accessToken, admin.user);
    // Within the grace window the rotated token still gets fresh tokens (two tabs refreshing at once).
    const again = await refresh(first.refreshToken);
    expect(again.errors).toBeUndefined();
    const concurrent = again.data?.refreshTokens as Tokens;
    expect(concurrent.refreshToken).not.toBe(next.refreshToken);
    expect(sessionOf(concurrent.accessToken)).toBe(sessionOf(first.accessToken));
    await expectMe(concurrent.accessToken, admin.user);
    // The newest token keeps working.
    const newest = await refresh(next.refreshToken);
    expect(newest.errors).toBeUndefined();
  });

  it('refuses unknown and malformed refresh tokens without a 500', async () => {
    expectFailure(await refresh(`rt_${randomUUID()}`), 'UNAUTHENTICATED', 'Invalid or expired refresh token');
    expectFailure(await refresh(randomUUID()), 'UNAUTHENTICATED', 'Invalid or expired refresh token');
    expectFailure(await refresh(''), 'BAD_USER_INPUT');
    expectFailure(await refresh('x'.repeat(10 * 1024)), 'BAD_USER_INPUT');
    expectFailure(await refresh('rt_\u0000\n'), 'UNAUTHENTICATED');
  });

  it("uses another user's refresh token as a bearer credential: rotates that user's session only", async () => {
    const bob = await signIn(BOB.email, BOB.password);
    const bobId = bob.user.id;
    expect(bobId).not.toBe(admin.user.id);
    const mine = await signIn();
    const result = await refresh(bob.refreshToken, mine.accessToken);
    expect(result.errors).toBeUndefined();
    const rotated = result.data?.refreshTokens as Tokens;
    expect(rotated.user).toEqual({ id: bobId, email: BOB.email });
    expect(decodeJwt(rotated.accessToken)).toMatchObject({ sub: bobId, sid: sessionOf(bob.accessToken) });
    await expectMe(rotated.accessToken, { id: bobId, email: BOB.email });
    // The admin's session is untouched: its access token and refresh token still work.
    await expectMe(mine.accessToken, admin.user);
    const sessions = await call<{ mySessions: { id: string; current: boolean }[] }>(SESSIONS, {
      token: mine.accessToken,
    });
    expect(sessions.data?.mySessions.find((s) => s.current)?.id).toBe(sessionOf(mine.accessToken));
    const adminRefresh = await refresh(mine.refreshToken);
    expect(adminRefresh.data?.refreshTokens.user).toEqual(admin.user);
  });
});

describe('logout', () => {
  it('ends the session: the access token gets 401 and the refresh token is refused', async () => {
    const session = await signIn();
    const result = await call<{ logout: boolean }>('mutation { logout }', { token: session.accessToken });
    expect(result.data).toEqual({ logout: true });
    await expectRevokedWithin(session.accessToken);
    expectFailure(await refresh(session.refreshToken), 'UNAUTHENTICATED', 'Invalid or expired refresh token');
    expectRefused(await call('mutation { logout }', { token: session.accessToken }), 'Session revoked');
    // Other sessions of the same user are not affected.
    await expectMe(admin.accessToken, admin.user);
  });

  it('needs a signed-in caller', async () => {
    expectFailure(await call('mutation { logout }'), 'UNAUTHENTICATED');
  });
});

describe('sessions', () => {
  type SessionList = { mySessions: { id: string; current: boolean }[] };

  it('lists, revokes one, refuses foreign or invalid ids, revokes the others', async () => {
    const first = await signIn(CAROL.email, CAROL.password);
    const second = await signIn(CAROL.email, CAROL.password);
    const carol = first.user;
    expect(carol.email).toBe(CAROL.email);

    const listed = await call<SessionList>(SESSIONS, { token: first.accessToken });
    expect(listed.errors).toBeUndefined();
    const sessions = listed.data?.mySessions ?? [];
    expect(sessions.map((s) => s.id).sort()).toEqual(
      [sessionOf(first.accessToken), sessionOf(second.accessToken)].sort(),
    );
    expect(sessions.filter((s) => s.current).map((s) => s.id)).toEqual([sessionOf(first.accessToken)]);
    // Seen from the other session, the other one is current.
    const fromSecond = await call<SessionList>(SESSIONS, { token: second.accessToken });
    expect(fromSecond.data?.mySessions.filter((s) => s.current).map((s) => s.id)).toEqual([
      sessionOf(second.accessToken),
    ]);

    const revoked = await call(REVOKE_SESSION, {
      token: first.accessToken,
      variables: { id: sessionOf(second.accessToken) },
    });
    expect(revoked.data).toEqual({ revokeSession: true });
    await expectRevokedWithin(second.accessToken);
    expectFailure(await refresh(second.refreshToken), 'UNAUTHENTICATED');
    await expectMe(first.accessToken, carol);
    const after = await call<SessionList>(SESSIONS, { token: first.accessToken });
    expect(after.data?.mySessions).toEqual([{ id: sessionOf(first.accessToken), current: true }]);

    const invalidIds = [
      sessionOf(admin.accessToken), // another user's live session
      sessionOf(second.accessToken), // already revoked
      randomUUID(),
      'not-a-uuid',
      '',
      'x'.repeat(10 * 1024),
    ];
    for (const id of invalidIds) {
      const result = await call(REVOKE_SESSION, { token: first.accessToken, variables: { id } });
      expectFailure(result, 'BAD_USER_INPUT', 'No such session');
    }
    // The admin's session survived carol's attempt.
    await expectMe(admin.accessToken, admin.user);

    const others = [await signIn(CAROL.email, CAROL.password), await signIn(CAROL.email, CAROL.password)];
    const ended = await call<{ revokeOtherSessions: number }>('mutation { revokeOtherSessions }', {
      token: first.accessToken,
    });
    expect(ended.data).toEqual({ revokeOtherSessions: 2 });
    for (const other of others) await expectRevokedWithin(other.accessToken);
    await expectMe(first.accessToken, carol);
    const none = await call<{ revokeOtherSessions: number }>('mutation { revokeOtherSessions }', {
      token: first.accessToken,
    });
    expect(none.data).toEqual({ revokeOtherSessions: 0 });
  });

  it('needs a signed-in caller', async () => {
    expectFailure(await call(SESSIONS), 'UNAUTHENTICATED');
    expectFailure(await call(REVOKE_SESSION, { variables: { id: randomUUID() } }), 'UNAUTHENTICATED');
  });
});

// Last in the file: see `reuse` above.
describe('refresh token reuse past the grace window', () => {
  it('ends the whole session: the newest refresh token and every access token of the session stop working', async () => {
    const { original, rotated, rotatedAt } = reuse;
    await expectMe(rotated.accessToken, admin.user);
    await sleep(Math.max(0, rotatedAt + REFRESH_GRACE_MS + 500 - Date.now()));

    const replayed = await refresh(original.refreshToken);
    expectFailure(replayed, 'UNAUTHENTICATED', 'Refresh token reuse detected; the session has been ended');
    await expectRevokedWithin(original.accessToken);
    await expectRevokedWithin(rotated.accessToken);
    expectFailure(await refresh(rotated.refreshToken), 'UNAUTHENTICATED', 'Invalid or expired refresh token');
    // Other sessions of the same user live on.
    await expectMe(admin.accessToken, admin.user);
  }, 30_000);
});
