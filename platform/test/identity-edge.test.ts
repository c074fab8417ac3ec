// Credentials at the edge, through the gateway: every forged, stale or malformed access token or Authorization
// header gets exactly 401 + UNAUTHENTICATED before any subgraph runs; a session ended by logout, revocation,
// refresh-token reuse, a password reset or erasure has its access tokens refused at once; API keys work as Bearer
// or x-api-key and stop the moment they are revoked; the client address behind a trusted proxy is the one
// identity records. Never a 500. (What identity does with its input is tested on the subgraph harness:
// subgraphs/identity/test.)
import { randomUUID } from 'node:crypto';

import { loadOrCreateSigningKey, type SigningKey } from '@g3d/auth';
import {
  CHANGE_PASSWORD,
  CREATE_API_KEY,
  DISABLE_MFA,
  ERASE_MY_ACCOUNT,
  LOGOUT,
  REGENERATE_BACKUP_CODES,
  REGISTER,
  registration,
  REQUEST_PASSWORD_RESET,
  RESET_PASSWORD,
  REVOKE_API_KEY,
  REVOKE_OTHER_SESSIONS,
  REVOKE_SESSION,
} from '@g3d/testkit';
import { base64url, type CryptoKey, decodeJwt, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  ADMIN,
  DEFAULT_PASSWORD,
  devMailbox,
  gql,
  type GraphQLResponse,
  registerAccount,
  startTestPlatform,
  type TestPlatform,
} from './helpers.ts';

const ME_ = '{ me { id email } }';
const TOKEN_FIELDS = 'accessToken refreshToken user { id email }';
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { ${TOKEN_FIELDS} } }`;
const REFRESH = `mutation($refreshToken: String!) { refreshTokens(refreshToken: $refreshToken) { ${TOKEN_FIELDS} } }`;

interface Tokens {
  accessToken: string;
  refreshToken: string;
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

async function signIn(email = ADMIN.email, password = ADMIN.password, headers: Record<string, string> = {}) {
  const result = await call<{ login: Tokens }>(LOGIN, { variables: { input: { email, password } }, headers });
  expect(result.errors).toBeUndefined();
  return result.data?.login as Tokens;
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

async function expectMe(token: string, user: { id: string; email: string }) {
  const result = await call<{ me: { id: string; email: string } }>(ME_, { token });
  expect(result.status).toBe(200);
  expect(result.errors).toBeUndefined();
  expect(result.data?.me).toEqual(user);
}

/** The session's access token is refused with 'Session revoked' within `withinMs` (polled every 50 ms). */
async function expectRevokedWithin(token: string, withinMs = 1_000) {
  const deadline = Date.now() + withinMs;
  let result = await call(ME_, { token });
  while (result.status !== 401 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    result = await call(ME_, { token });
  }
  expectRefused(result, 'Session revoked');
}

const BOB = { email: 'bob@b.example', password: 'violet kettle orbit 2931' };
const CAROL = { email: 'carol@c.example', password: 'amber lantern quartz 8462' };

let admin: Tokens;

beforeAll(async () => {
  // Behind one trusted proxy (the client address is the last X-Forwarded-For hop); no refresh grace window, so a
  // replayed refresh token is theft at once (the window is tested on identity itself).
  platform = await startTestPlatform({ TRUST_PROXY_HOPS: '1', REFRESH_GRACE_SECONDS: '0' });
  identityKey = await loadOrCreateSigningKey(platform.dataDir, 'identity');
  admin = await signIn();
  await Promise.all([
    registerAccount(platform.gatewayUrl, BOB.email, BOB.password),
    registerAccount(platform.gatewayUrl, CAROL.email, CAROL.password),
  ]);
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
    expect(admin.user.email).toBe(ADMIN.email);
    await expectMe(admin.accessToken, admin.user);
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
    expectRefused(await call(ME_, { token: await make() }), 'Invalid or expired access token');
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
    expectRefused(await call(ME_, { headers: { authorization } }));
  });

  it('refuses a valid token sent as a 10 KB header (valid token + padding)', async () => {
    expectRefused(await call(ME_, { token: `${admin.accessToken}${'A'.repeat(10 * 1024)}` }));
  });

  // Every mutation that needs a signed-in user, with a garbage bearer token: refused before identity sees it.
  const authenticatedCalls: [string, string, Record<string, unknown>?][] = [
    ['logout', LOGOUT.document],
    ['changePassword', CHANGE_PASSWORD.document, { input: { currentPassword: 'x', newPassword: DEFAULT_PASSWORD } }],
    ['updateProfile', 'mutation { updateProfile(input: { firstName: "Anon" }) { id } }'],
    ['updatePreferences', 'mutation { updatePreferences(input: { theme: DARK }) { id } }'],
    ['updateConsent', 'mutation { updateConsent(input: { gdprConsent: true }) { id } }'],
    ['beginMfaEnrollment', 'mutation { beginMfaEnrollment(password: "x") { secret } }'],
    ['confirmMfaEnrollment', 'mutation { confirmMfaEnrollment(code: "123456") { codes } }'],
    ['regenerateBackupCodes', REGENERATE_BACKUP_CODES.document, { code: '123456' }],
    ['disableMfa', DISABLE_MFA.document, { password: 'x', code: '123456' }],
    ['revokeSession', REVOKE_SESSION.document, { id: '00000000-0000-0000-0000-000000000000' }],
    ['revokeOtherSessions', REVOKE_OTHER_SESSIONS.document],
  ];

  it.each(authenticatedCalls)('%s refuses a garbage bearer token with 401', async (_name, query, variables) => {
    const result = await call(query, {
      token: `${'x'.repeat(10 * 1024)}.\u00e9.x`,
      ...(variables ? { variables } : {}),
    });
    expectRefused(result);
  });
});

describe('ended sessions at the gateway', () => {
  it('logout: the access token is refused at once, also for a second logout; other sessions are not affected', async () => {
    const session = await signIn();
    expect((await call<{ logout: boolean }>(LOGOUT.document, { token: session.accessToken })).data).toEqual({
      logout: true,
    });
    await expectRevokedWithin(session.accessToken);
    expectRefused(await call(LOGOUT.document, { token: session.accessToken }), 'Session revoked');
    await expectMe(admin.accessToken, admin.user);
  });

  it('revoking one session or the others refuses their access tokens at once, not the current one', async () => {
    const [first, second, third] = [
      await signIn(CAROL.email, CAROL.password),
      await signIn(CAROL.email, CAROL.password),
      await signIn(CAROL.email, CAROL.password),
    ] as [Tokens, Tokens, Tokens];
    const revoked = await call(REVOKE_SESSION.document, {
      token: first.accessToken,
      variables: { id: sessionOf(second.accessToken) },
    });
    expect(revoked.data).toEqual({ revokeSession: true });
    await expectRevokedWithin(second.accessToken);
    await expectMe(first.accessToken, first.user);
    await expectMe(third.accessToken, first.user);
    const others = await call(REVOKE_OTHER_SESSIONS.document, { token: first.accessToken });
    expect(others.data).toEqual({ revokeOtherSessions: 1 });
    await expectRevokedWithin(third.accessToken);
    await expectMe(first.accessToken, first.user);
  });

  it('a replayed refresh token ends the whole session: every access token of it is refused', async () => {
    const original = await signIn();
    const rotated = await call<{ refreshTokens: Tokens }>(REFRESH, {
      variables: { refreshToken: original.refreshToken },
    });
    const next = rotated.data?.refreshTokens as Tokens;
    await expectMe(next.accessToken, admin.user);
    const replayed = await call(REFRESH, { variables: { refreshToken: original.refreshToken } });
    expect(replayed.errors?.[0]?.message).toBe('Refresh token reuse detected; the session has been ended');
    await expectRevokedWithin(original.accessToken);
    await expectRevokedWithin(next.accessToken);
    await expectMe(admin.accessToken, admin.user);
  });

  it('a password reset refuses every live access token of the account', async () => {
    const live = await signIn(BOB.email, BOB.password);
    await expectMe(live.accessToken, live.user);
    await call(REQUEST_PASSWORD_RESET.document, { variables: { email: BOB.email } });
    const token = (await devMailbox(platform.gatewayUrl, BOB.email)).find((m) => m.kind === 'reset_password')?.token;
    const reset = await call(RESET_PASSWORD.document, {
      variables: { input: { token, newPassword: 'an even longer new passphrase' } },
    });
    expect(reset.data).toEqual({ resetPassword: true });
    await expectRevokedWithin(live.accessToken);
  });

  it('erasing the account refuses its access token', async () => {
    const email = 'erin.erased@e.example';
    await registerAccount(platform.gatewayUrl, email);
    const erin = await signIn(email, DEFAULT_PASSWORD);
    expect(
      (await call(ERASE_MY_ACCOUNT.document, { token: erin.accessToken, variables: { password: DEFAULT_PASSWORD } }))
        .data,
    ).toEqual({
      eraseMyAccount: true,
    });
    await expectRevokedWithin(erin.accessToken);
  });
});

describe('API keys at the gateway', () => {
  it('call `me` as Bearer and as x-api-key; cannot manage keys; a wrong or revoked key is refused at once', async () => {
    const bob = await signIn(CAROL.email, CAROL.password);
    const created = await call<{ createApiKey: { secret: string; apiKey: { id: string } } }>(CREATE_API_KEY.document, {
      token: bob.accessToken,
      variables: { input: { name: 'ci bot' } },
    });
    const apiKey = created.data?.createApiKey.secret as string;
    // The key stands for its owner (what it may read of them is its scopes' business: api-key-scopes.test.ts).
    const viaBearer = await call<{ me: { id: string } }>('{ me { id } }', { token: apiKey });
    expect([viaBearer.status, viaBearer.errors, viaBearer.data?.me.id]).toEqual([200, undefined, bob.user.id]);
    const viaHeader = await call<{ me: { id: string } }>('{ me { id } }', { headers: { 'x-api-key': apiKey } });
    expect([viaHeader.status, viaHeader.errors, viaHeader.data?.me.id]).toEqual([200, undefined, bob.user.id]);
    // An API key cannot manage keys or sessions (it is not a signed-in person).
    const escalate = await call(CREATE_API_KEY.document, { token: apiKey, variables: { input: { name: 'more' } } });
    expect(escalate.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expectRefused(await call(ME_, { token: `${apiKey.slice(0, -4)}AAAA` }));

    const revoked = await call(REVOKE_API_KEY.document, {
      token: bob.accessToken,
      variables: { id: created.data?.createApiKey.apiKey.id },
    });
    expect(revoked.errors).toBeUndefined();
    // At once, despite the gateway's verification cache.
    expectRefused(await call(ME_, { token: apiKey }));
    expectRefused(await call(ME_, { headers: { 'x-api-key': apiKey } }));
  });
});

describe('the request itself', () => {
  it('answers an oversized body with 413 BAD_REQUEST, not a 500', async () => {
    const response = await fetch(platform.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: REGISTER.document,
        variables: { input: registration('big@hostile.example', { firstName: 'x'.repeat(2_000_000) }) },
      }),
    });
    expect(response.status).toBe(413);
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe('BAD_REQUEST');
  });

  it('records the client address behind the trusted proxy and the user agent, as identity sees them', async () => {
    const failed = await call(LOGIN, {
      variables: { input: { email: CAROL.email, password: 'not the password at all' } },
      headers: { 'x-forwarded-for': '203.0.113.250, 198.51.100.23', 'user-agent': 'edge-test/1.0' },
    });
    expect(failed.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const carol = await signIn(CAROL.email, CAROL.password);
    const audit = await call<{ auditEvents: { events: { type: string; ip: string; userAgent: string }[] } }>(
      'query($u: ID!) { auditEvents(userId: $u, type: "login.failed", first: 5) { events { type ip userAgent } } }',
      { token: admin.accessToken, variables: { u: carol.user.id } },
    );
    // One trusted proxy: its hop (the last) is the client.
    expect(audit.data?.auditEvents.events[0]).toEqual({
      type: 'login.failed',
      ip: '198.51.100.23',
      userAgent: 'edge-test/1.0',
    });
  });
});
