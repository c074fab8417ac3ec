// Hostile input against every identity mutation, through the gateway: each answer is a GraphQL error with a stable
// extensions.code (BAD_USER_INPUT naming the field, UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED, CONFLICT), never an
// HTTP 500, never INTERNAL_SERVER_ERROR, never a hang and never a partial write. Also: no account enumeration
// (register, reset, login answer alike for known and unknown addresses) and single-use tokens under concurrency.
import { generateTotp } from '@g3d/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ADMIN, gql, type GraphQLResponse, login, startTestPlatform, type TestPlatform } from './helpers.ts';

/** Without DATABASE_URL the platform runs on the embedded PGlite (see the known bug at the end of the file). */

let platform: TestPlatform;
let url: string;
beforeAll(async () => {
  // The timing test makes 15 failed logins for one account and the file makes ~100 logins from one IP: raise the
  // throttle so that lockouts (tested elsewhere) do not turn argon2 failures into fast RATE_LIMITED answers.
  platform = await startTestPlatform({ LOGIN_MAX_FAILURES: '100', LOGIN_IP_LIMIT: '100000' });
  url = platform.gatewayUrl;
});
afterAll(() => platform?.close());

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const KB10 = 'x'.repeat(10 * 1024);
const GOOD_PASSWORD = 'a perfectly fine passphrase';
const OTHER_GOOD_PASSWORD = 'another quite decent passphrase';
let unique = 0;
/** A fresh address per use: per-address mail limits (3 an hour) never interfere between tests. */
const fresh = (tag: string) => `${tag}-${++unique}-${Date.now().toString(36)}@hostile.example`;

/** Any call that takes longer than this is a hang. */
const DEADLINE_MS = 15_000;

async function call<T = Record<string, unknown>>(
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
): Promise<GraphQLResponse<T>> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${DEADLINE_MS} ms (hang): ${query}`)), DEADLINE_MS);
  });
  try {
    return await Promise.race([
      gql<T>(url, query, { ...(variables ? { variables } : {}), ...(token ? { token } : {}) }),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The response is exactly one well-formed, expected error with this code (and field), and no data for the field. */
function expectError(result: GraphQLResponse, code: string, field?: string) {
  const context = JSON.stringify(result).slice(0, 500);
  expect(result.status, context).toBeLessThan(500);
  expect(result.errors, context).toHaveLength(1);
  const error = result.errors?.[0];
  expect(error?.extensions?.code, context).toBe(code);
  expect(error?.extensions?.code, context).not.toBe('INTERNAL_SERVER_ERROR');
  expect(typeof error?.message, context).toBe('string');
  expect(error?.message, context).not.toBe('Internal server error');
  if (field !== undefined) expect(error?.extensions?.field, context).toBe(field);
  // Either no data at all (request errors) or null data (a non-null root field failed).
  expect(result.data ?? null, context).toBeNull();
}

/** A GraphQL coercion error on a variable: HTTP 400, BAD_USER_INPUT, nothing executed. */
function expectCoercionError(result: GraphQLResponse) {
  const context = JSON.stringify(result).slice(0, 500);
  expect(result.status, context).toBe(400);
  expect(result.errors?.[0]?.extensions?.code, context).toBe('BAD_USER_INPUT');
  expect(result.data, context).toBeUndefined();
}

const REGISTER = 'mutation($input: RegisterInput!) { register(input: $input) { message } }';
const VERIFY = 'mutation($token: String!) { verifyEmail(token: $token) }';
const RESEND = 'mutation($email: String!) { resendVerification(email: $email) }';
const REQUEST_RESET = 'mutation($email: String!) { requestPasswordReset(email: $email) }';
const RESET = 'mutation($input: ResetPasswordInput!) { resetPassword(input: $input) }';
const LOGIN = 'mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken user { id } } }';
const LOGIN_MFA = 'mutation($input: LoginWithMfaInput!) { loginWithMfa(input: $input) { accessToken } }';
const REFRESH = 'mutation($t: String!) { refreshTokens(refreshToken: $t) { accessToken refreshToken } }';
const LOGOUT = 'mutation { logout }';
const CHANGE_PASSWORD = 'mutation($input: ChangePasswordInput!) { changePassword(input: $input) }';
const UPDATE_PROFILE =
  'mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { firstName lastName displayName } }';
const UPDATE_PREFERENCES = `mutation($input: PreferencesInput!) {
  updatePreferences(input: $input) { preferences { theme language timezone privacy { dataRetentionDays } } } }`;
const UPDATE_CONSENT = 'mutation($input: ConsentInput!) { updateConsent(input: $input) { consent { gdprConsent } } }';
const BEGIN_MFA = 'mutation($p: String!) { beginMfaEnrollment(password: $p) { secret } }';
const CONFIRM_MFA = 'mutation($c: String!) { confirmMfaEnrollment(code: $c) { codes } }';
const REGENERATE_CODES = 'mutation($c: String!) { regenerateBackupCodes(code: $c) { codes } }';
const DISABLE_MFA = 'mutation($p: String!, $c: String!) { disableMfa(password: $p, code: $c) }';
const REVOKE_SESSION = 'mutation($id: ID!) { revokeSession(id: $id) }';
const REVOKE_OTHERS = 'mutation { revokeOtherSessions }';
const ME = `{ me { id firstName lastName displayName emailVerified mfaEnabled
  preferences { theme language timezone privacy { dataRetentionDays } } consent { gdprConsent } } }`;
const MY_SESSIONS = '{ mySessions { id current } }';

const registration = (email: string, overrides: Record<string, unknown> = {}) => ({
  email,
  password: GOOD_PASSWORD,
  firstName: 'Eve',
  lastName: 'Mallory',
  acceptTerms: true,
  acceptPrivacyPolicy: true,
  gdprConsent: true,
  ...overrides,
});

interface Mail {
  kind: string;
  text: string;
}
async function mailbox(email: string): Promise<Mail[]> {
  const result = await call<{ devMailbox: Mail[] }>('query($to: String!) { devMailbox(to: $to) { kind text } }', {
    to: email,
  });
  expect(result.errors).toBeUndefined();
  return result.data?.devMailbox ?? [];
}

const kinds = (mails: Mail[]) => mails.map((m) => m.kind).sort();

/** The single-use token in the newest mail of this kind. */
async function mailToken(email: string, kind: 'verify_email' | 'reset_password'): Promise<string> {
  const mail = (await mailbox(email)).find((m) => m.kind === kind);
  const token = mail?.text.match(/[?&]token=([A-Za-z0-9_-]+)/)?.[1];
  if (!token) throw new Error(`no ${kind} mail with a token for ${email}`);
  return token;
}

async function registerVerified(email: string, password = GOOD_PASSWORD): Promise<string> {
  const registered = await call(REGISTER, { input: registration(email, { password }) });
  expect(registered.errors).toBeUndefined();
  const verified = await call(VERIFY, { token: await mailToken(email, 'verify_email') });
  expect(verified.data).toEqual({ verifyEmail: true });
  return login(url, email, password);
}

async function tryLogin(email: string, password: string) {
  return call<{ login: { accessToken: string; refreshToken: string; user: { id: string } } }>(LOGIN, {
    input: { email, password },
  });
}

/** No account exists for this address: a login fails exactly like an unknown email, and no mail was written. */
async function expectNoAccount(email: string, password = GOOD_PASSWORD) {
  const attempt = await tryLogin(email, password);
  expectError(attempt, 'UNAUTHENTICATED');
  expect(attempt.errors?.[0]?.message).toBe('Invalid email or password');
  expect(await mailbox(email)).toEqual([]);
}

async function me(token: string) {
  const result = await call<{
    me: {
      id: string;
      firstName: string;
      lastName: string;
      displayName: string;
      mfaEnabled: boolean;
      preferences: { theme: string; language: string; timezone: string; privacy: { dataRetentionDays: number } };
      consent: { gdprConsent: boolean };
    };
  }>(ME, undefined, token);
  expect(result.errors).toBeUndefined();
  if (!result.data?.me) throw new Error('me is null');
  return result.data.me;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

const INVALID_EMAILS: [string, string][] = [
  ['empty', ''],
  ['no at', 'a'],
  ['no dot in domain', 'a@b'],
  ['double at', 'a@@b.c'],
  ['inner space', ' spaced @x.io'],
  ['10 KB', `${KB10}@x.io`],
  ['10 KB domain', `a@${KB10}.io`],
  ['NUL byte', 'a\u0000b@x.io'],
  ['line feed (header injection)', 'a@x.io\nBcc: victim@x.io'],
  ['carriage return', 'a\r@x.io'],
  ['bell', 'a\u0007@x.io'],
  ['DEL', 'a\u007f@x.io'],
  ['list of addresses', 'a@x.io, b@y.io'],
];

// ---------------------------------------------------------------------------------------------------------------

describe('register', () => {
  it.each(INVALID_EMAILS)('rejects an invalid email (%s) with BAD_USER_INPUT on email', async (_label, email) => {
    expectError(await call(REGISTER, { input: registration(email) }), 'BAD_USER_INPUT', 'email');
  });

  it('accepts a unicode (homoglyph) domain like any other address', async () => {
    const result = await call(REGISTER, { input: registration(fresh('homoglyph').replace('example', 'exаmple')) });
    expect(result.errors).toBeUndefined();
  });

  it('rejects bad names, terms and passwords field by field, and writes nothing', async () => {
    const email = fresh('rejected');
    const cases: [Record<string, unknown>, string][] = [
      [{ firstName: KB10 }, 'firstName'],
      [{ lastName: KB10 }, 'lastName'],
      [{ displayName: KB10 }, 'displayName'],
      [{ firstName: 'a'.repeat(101) }, 'firstName'],
      [{ firstName: 'Eve\u0000' }, 'firstName'],
      [{ lastName: 'Mal\u0001lory' }, 'lastName'],
      [{ displayName: 'Eve\nAdmin' }, 'displayName'],
      [{ displayName: 'Eve\u007f' }, 'displayName'],
      [{ firstName: '' }, 'firstName'],
      [{ lastName: ' \t  ' }, 'lastName'],
      [{ acceptTerms: false }, 'acceptTerms'],
      [{ acceptPrivacyPolicy: false }, 'acceptPrivacyPolicy'],
      [{ password: '' }, 'password'],
      [{ password: 'short1' }, 'password'],
      [{ password: 'password1' }, 'password'],
      [{ password: 'PASSWORD1' }, 'password'],
      [{ password: 'p'.repeat(257) }, 'password'],
      [{ password: '\u{1F600}'.repeat(257) }, 'password'],
      [{ password: KB10 }, 'password'],
      [{ password: 'x'.repeat(100_000) }, 'password'],
      [{ password: 'good passphrase\u0000with NUL' }, 'password'],
      [{ password: 'tab\tinside passphrase' }, 'password'],
      [{ password: email }, 'password'],
      [{ password: email.toUpperCase() }, 'password'],
      [{ firstName: 'Evangelina', password: 'evangelina' }, 'password'],
    ];
    for (const [overrides, field] of cases) {
      expectError(await call(REGISTER, { input: registration(email, overrides) }), 'BAD_USER_INPUT', field);
    }
    // Nothing was created: the address has no account and no mail, and a valid registration is a first one.
    await expectNoAccount(email);
    expect((await call(REGISTER, { input: registration(email) })).errors).toBeUndefined();
    expect(kinds(await mailbox(email))).toEqual(['verify_email']);
  });

  it('accepts passwords at the limits (8 and 256 code points, emoji, spaces)', async () => {
    for (const password of ['abcd1234x', 'p'.repeat(256), '\u{1F600}'.repeat(256), '  spaced  out  pass  ']) {
      const result = await call(REGISTER, { input: registration(fresh('limits'), { password }) });
      expect(result.errors, password.slice(0, 20)).toBeUndefined();
    }
  });

  it('refuses wrong types and missing fields as GraphQL coercion errors (HTTP 400) and writes nothing', async () => {
    const email = fresh('types');
    const bad: Record<string, unknown>[] = [
      registration(email, { password: 12345678 }),
      registration(email, { firstName: 42 }),
      registration(email, { lastName: ['Mallory'] }),
      registration(email, { displayName: { name: 'Eve' } }),
      registration(email, { acceptTerms: 'yes' }),
      registration(email, { acceptPrivacyPolicy: 1 }),
      registration(email, { gdprConsent: null }),
      registration(email, { isAdmin: true }),
      registration(email, { password: undefined }),
      registration(email, { acceptTerms: undefined }),
      { email },
    ];
    for (const input of bad) expectCoercionError(await call(REGISTER, { input }));
    expectCoercionError(await call(REGISTER, { input: registration(42 as unknown as string) }));
    expectCoercionError(await call(REGISTER, {}));
    expectCoercionError(await call(REGISTER, { input: 'not an object' }));
    // A literal with missing fields fails validation (also a 400).
    const literal = await call(`mutation { register(input: { email: "${email}", password: "x" }) { message } }`);
    expect(literal.status).toBe(400);
    expect(literal.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    await expectNoAccount(email);
  });

  it('answers an existing address exactly like a new one, and mails a notice instead of a link', async () => {
    const newEmail = fresh('enum-new');
    const existing = await call(REGISTER, { input: registration(ADMIN.email) });
    const created = await call(REGISTER, { input: registration(newEmail) });
    expect(existing.errors).toBeUndefined();
    expect(existing).toEqual(created);
    expect(kinds(await mailbox(newEmail))).toEqual(['verify_email']);
    const adminMails = kinds(await mailbox(ADMIN.email));
    expect(adminMails).toContain('email_exists');
    expect(adminMails).not.toContain('verify_email');
    // The existing account is untouched: the admin still signs in with the old password.
    await login(url);
  });

  it('registers one new address sent 5 times at once as exactly one account', async () => {
    const email = fresh('race');
    const results = await Promise.all(Array.from({ length: 5 }, () => call(REGISTER, { input: registration(email) })));
    const context = JSON.stringify(results);
    for (const result of results) expect(result.status, context).toBe(200);
    // Registration mails are limited to 3 per address and hour (registration.service.ts MAILS_PER_HOUR), so of 5
    // simultaneous requests 3 get the usual answer and 2 a clean RATE_LIMITED; none sees a unique-constraint
    // error or a 500. The limit answers alike for new and existing addresses, so it reveals nothing either.
    const accepted = results.filter((r) => !r.errors);
    const limited = results.filter((r) => r.errors);
    expect(accepted, context).toHaveLength(3);
    for (const result of accepted) expect(result).toEqual(accepted[0]);
    for (const result of limited) {
      expectError(result, 'RATE_LIMITED');
      expect(typeof result.errors?.[0]?.extensions?.retryAfterSeconds).toBe('number');
    }
    // One account: one verification mail, a notice for each other accepted attempt, nothing for the limited ones.
    const mails = kinds(await mailbox(email));
    expect(mails).toEqual(['email_exists', 'email_exists', 'verify_email']);
    await call(VERIFY, { token: await mailToken(email, 'verify_email') });
    await login(url, email, GOOD_PASSWORD);
  });
});

describe('verifyEmail', () => {
  it('rejects malformed and random tokens with BAD_USER_INPUT on token', async () => {
    for (const token of ['', KB10, 'abc\u0000def', 'abc\ndef', 'a'.repeat(43), 'ZZZZ-not-a-token', '\u{1F600}']) {
      expectError(await call(VERIFY, { token }), 'BAD_USER_INPUT', 'token');
    }
    expectCoercionError(await call(VERIFY, { token: 123 }));
    expectCoercionError(await call(VERIFY, {}));
  });

  it('accepts one of 5 concurrent uses of a token, and refuses a second use', async () => {
    const email = fresh('verify-race');
    await call(REGISTER, { input: registration(email) });
    const token = await mailToken(email, 'verify_email');
    const results = await Promise.all(Array.from({ length: 5 }, () => call(VERIFY, { token })));
    expect(results.filter((r) => r.data?.verifyEmail === true)).toHaveLength(1);
    for (const result of results.filter((r) => r.data?.verifyEmail !== true)) {
      expectError(result, 'BAD_USER_INPUT', 'token');
    }
    expectError(await call(VERIFY, { token }), 'BAD_USER_INPUT', 'token');
    await login(url, email, GOOD_PASSWORD);
  });

  it('refuses a reset token as a verification token and a verification token as a reset token, spending neither', async () => {
    const email = fresh('purpose');
    await call(REGISTER, { input: registration(email) });
    const verifyToken = await mailToken(email, 'verify_email');
    await call(REQUEST_RESET, { email });
    const resetToken = await mailToken(email, 'reset_password');
    expectError(await call(VERIFY, { token: resetToken }), 'BAD_USER_INPUT', 'token');
    expectError(
      await call(RESET, { input: { token: verifyToken, newPassword: OTHER_GOOD_PASSWORD } }),
      'BAD_USER_INPUT',
      'token',
    );
    // Still unverified, old password unchanged.
    expect((await tryLogin(email, GOOD_PASSWORD)).errors?.[0]?.extensions?.reason).toBe('EMAIL_NOT_VERIFIED');
    // Neither token was spent by the mismatched use.
    expect((await call(VERIFY, { token: verifyToken })).data).toEqual({ verifyEmail: true });
    expect((await call(RESET, { input: { token: resetToken, newPassword: OTHER_GOOD_PASSWORD } })).data).toEqual({
      resetPassword: true,
    });
    await login(url, email, OTHER_GOOD_PASSWORD);
  });
});

describe('resendVerification', () => {
  it.each(INVALID_EMAILS)('rejects an invalid email (%s) with BAD_USER_INPUT on email', async (_label, email) => {
    expectError(await call(RESEND, { email }), 'BAD_USER_INPUT', 'email');
  });

  it('answers alike for unknown, unverified and verified addresses, and rate limits the 4th within an hour', async () => {
    const unverified = fresh('resend');
    await call(REGISTER, { input: registration(unverified) });
    const answers = await Promise.all([
      call(RESEND, { email: fresh('resend-unknown') }),
      call(RESEND, { email: ADMIN.email }),
      call(RESEND, { email: unverified }),
    ]);
    for (const answer of answers) expect(answer).toEqual({ status: 200, data: { resendVerification: true } });
    for (let i = 0; i < 2; i++)
      expect((await call(RESEND, { email: unverified })).data).toEqual({ resendVerification: true });
    const limited = await call(RESEND, { email: ` ${unverified.toUpperCase()} ` });
    expectError(limited, 'RATE_LIMITED');
    const retryAfter = limited.errors?.[0]?.extensions?.retryAfterSeconds;
    expect(typeof retryAfter).toBe('number');
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    // 1 from registration + 3 resends; the limited request mailed nothing.
    expect(kinds(await mailbox(unverified))).toEqual(['verify_email', 'verify_email', 'verify_email', 'verify_email']);
    expectCoercionError(await call(RESEND, { email: 7 }));
  });
});

describe('requestPasswordReset and resetPassword', () => {
  it.each(INVALID_EMAILS)('rejects an invalid email (%s) with BAD_USER_INPUT on email', async (_label, email) => {
    expectError(await call(REQUEST_RESET, { email }), 'BAD_USER_INPUT', 'email');
  });

  it('answers identically for an unknown and a known address, mailing only the known one', async () => {
    const known = fresh('reset-known');
    const unknown = fresh('reset-unknown');
    await registerVerified(known);
    const a = await call(REQUEST_RESET, { email: unknown });
    const b = await call(REQUEST_RESET, { email: known });
    expect(a).toEqual(b);
    expect(a).toEqual({ status: 200, data: { requestPasswordReset: true } });
    expect(await mailbox(unknown)).toEqual([]);
    expectCoercionError(await call(REQUEST_RESET, { email: 42 }));
    expectCoercionError(await call(REQUEST_RESET, {}));
    expect(kinds(await mailbox(known))).toContain('reset_password');
    await call(REQUEST_RESET, { email: known });
    await call(REQUEST_RESET, { email: known });
    const limited = await call(REQUEST_RESET, { email: known });
    expectError(limited, 'RATE_LIMITED');
    expect(typeof limited.errors?.[0]?.extensions?.retryAfterSeconds).toBe('number');
  });

  it('rejects malformed and random tokens, whatever the new password', async () => {
    for (const token of ['', KB10, 'a\u0000b', 'random-token-that-was-never-issued']) {
      expectError(await call(RESET, { input: { token, newPassword: GOOD_PASSWORD } }), 'BAD_USER_INPUT', 'token');
    }
    // An unknown token with a hostile password is still just an invalid token.
    for (const newPassword of [KB10, 'x'.repeat(200_000), 'a\u0000b', '']) {
      expectError(await call(RESET, { input: { token: 'never-issued', newPassword } }), 'BAD_USER_INPUT', 'token');
    }
    expectCoercionError(await call(RESET, { input: { token: 'abc', newPassword: 12345678 } }));
    expectCoercionError(await call(RESET, { input: { token: 'abc' } }));
  });

  it('refuses a weak new password without spending the token; the old password keeps working', async () => {
    const email = fresh('reset-weak');
    await registerVerified(email);
    await call(REQUEST_RESET, { email });
    const token = await mailToken(email, 'reset_password');
    for (const newPassword of ['', 'short1', 'password1', 'p'.repeat(257), KB10, 'new passphrase\u0000NUL', email]) {
      expectError(await call(RESET, { input: { token, newPassword } }), 'BAD_USER_INPUT', 'newPassword');
    }
    await login(url, email, GOOD_PASSWORD);
    // The same token still works with a good password, then never again.
    expect((await call(RESET, { input: { token, newPassword: OTHER_GOOD_PASSWORD } })).data).toEqual({
      resetPassword: true,
    });
    expectError(await tryLogin(email, GOOD_PASSWORD), 'UNAUTHENTICATED');
    await login(url, email, OTHER_GOOD_PASSWORD);
    expectError(
      await call(RESET, { input: { token, newPassword: 'yet another good passphrase' } }),
      'BAD_USER_INPUT',
      'token',
    );
    await login(url, email, OTHER_GOOD_PASSWORD);
  });

  // On the embedded database this race hits the multiplexer bug pinned at the end of the file (500s, no winner).
  it('accepts one of 5 concurrent resets with the same token', async () => {
    const email = fresh('reset-race');
    await registerVerified(email);
    await call(REQUEST_RESET, { email });
    const token = await mailToken(email, 'reset_password');
    const passwords = Array.from({ length: 5 }, (_, i) => `concurrent passphrase number ${i}`);
    const results = await Promise.all(passwords.map((newPassword) => call(RESET, { input: { token, newPassword } })));
    const winners = passwords.filter((_, i) => results[i]?.data?.resetPassword === true);
    expect(winners).toHaveLength(1);
    for (const result of results.filter((r) => r.data?.resetPassword !== true)) {
      expectError(result, 'BAD_USER_INPUT', 'token');
    }
    await login(url, email, winners[0] as string);
  });
});

describe('login', () => {
  it.each(INVALID_EMAILS)('rejects an invalid email (%s) with BAD_USER_INPUT on email', async (_label, email) => {
    expectError(await tryLogin(email, GOOD_PASSWORD), 'BAD_USER_INPUT', 'email');
  });

  it('rejects empty and oversized passwords with BAD_USER_INPUT on password', async () => {
    for (const password of ['', KB10, 'x'.repeat(200_000)]) {
      expectError(await tryLogin(ADMIN.email, password), 'BAD_USER_INPUT', 'password');
    }
  });

  it('answers control characters and odd unicode in the password with the ordinary failure', async () => {
    for (const password of ['a\u0000b', '\u0001\u0002\u0003', 'tab\there', '\u{1F600}'.repeat(300), '\ud800x']) {
      const result = await tryLogin(ADMIN.email, password);
      expectError(result, 'UNAUTHENTICATED');
      expect(result.errors?.[0]?.message).toBe('Invalid email or password');
    }
  });

  it('fails identically for an unknown email and a wrong password', async () => {
    const unknown = await tryLogin(fresh('nobody'), 'wrong password here');
    const wrong = await tryLogin(ADMIN.email, 'wrong password here');
    expectError(unknown, 'UNAUTHENTICATED');
    expect(unknown).toEqual(wrong);
  });

  it('refuses wrong types and missing fields as coercion errors', async () => {
    expectCoercionError(await call(LOGIN, { input: { email: 1, password: 'x' } }));
    expectCoercionError(await call(LOGIN, { input: { email: ADMIN.email, password: true } }));
    expectCoercionError(await call(LOGIN, { input: { email: ADMIN.email } }));
    expectCoercionError(await call(LOGIN, { input: null }));
  });

  it('spends about the same time on an unknown email as on a wrong password (both run argon2)', async () => {
    const email = fresh('timing');
    await registerVerified(email);
    const time = async (address: string) => {
      const start = performance.now();
      const result = await tryLogin(address, 'definitely not the password');
      const elapsed = performance.now() - start;
      expectError(result, 'UNAUTHENTICATED');
      return elapsed;
    };
    // Warm both paths (the dummy hash is computed on first use).
    await time(fresh('timing-unknown'));
    await time(email);
    const unknown: number[] = [];
    const wrong: number[] = [];
    // Interleaved (still sequential) so that drift in machine load affects both series alike.
    for (let i = 0; i < 15; i++) {
      unknown.push(await time(fresh('timing-unknown')));
      wrong.push(await time(email));
    }
    const [mu, mw] = [median(unknown), median(wrong)];
    console.log(`login timing: median unknown email ${mu.toFixed(1)} ms, median wrong password ${mw.toFixed(1)} ms`);
    expect(Math.max(mu, mw) / Math.min(mu, mw)).toBeLessThan(2);
  });
});

describe('loginWithMfa, refreshTokens and logout', () => {
  it('rejects malformed MFA tokens and codes', async () => {
    const cases: [Record<string, unknown>, string, string?][] = [
      [{ mfaToken: '', code: '123456' }, 'BAD_USER_INPUT', 'mfaToken'],
      [{ mfaToken: KB10, code: '123456' }, 'BAD_USER_INPUT', 'mfaToken'],
      [{ mfaToken: 'a\u0000b', code: '123456' }, 'BAD_USER_INPUT', 'mfaToken'],
      [{ mfaToken: 'not-a-jwt', code: '' }, 'BAD_USER_INPUT', 'code'],
      [{ mfaToken: 'not-a-jwt', code: KB10 }, 'BAD_USER_INPUT', 'code'],
      [{ mfaToken: 'not-a-jwt', code: '12\u00003456' }, 'BAD_USER_INPUT', 'code'],
      [{ mfaToken: 'not-a-jwt', code: '123456' }, 'UNAUTHENTICATED'],
      [{ mfaToken: 'e30.e30.e30', code: '123456' }, 'UNAUTHENTICATED'],
    ];
    for (const [input, code, field] of cases) expectError(await call(LOGIN_MFA, { input }), code, field);
    // An access token is not an MFA challenge.
    const access = await login(url);
    expectError(await call(LOGIN_MFA, { input: { mfaToken: access, code: '123456' } }), 'UNAUTHENTICATED');
    expectCoercionError(await call(LOGIN_MFA, { input: { mfaToken: 'x', code: 123456 } }));
  });

  it('rejects malformed, random and foreign refresh tokens', async () => {
    expectError(await call(REFRESH, { t: '' }), 'BAD_USER_INPUT', 'refreshToken');
    expectError(await call(REFRESH, { t: KB10 }), 'BAD_USER_INPUT', 'refreshToken');
    for (const t of ['rt_random', 'rt_\u0000', '\ud800', `rt_${'A'.repeat(250)}`]) {
      expectError(await call(REFRESH, { t }), 'UNAUTHENTICATED');
    }
    // An access token is not a refresh token (a JWT is longer than any refresh token: refused by its length).
    const access = await call(REFRESH, { t: await login(url) });
    expect(['BAD_USER_INPUT', 'UNAUTHENTICATED']).toContain(access.errors?.[0]?.extensions?.code);
    expect(access.data ?? null).toBeNull();
    expectCoercionError(await call(REFRESH, { t: 5 }));
    expectCoercionError(await call(REFRESH, {}));
  });

  it('logs out once; the access token is dead afterwards', async () => {
    const signedIn = await tryLogin(ADMIN.email, ADMIN.password);
    const token = signedIn.data?.login.accessToken as string;
    expect((await call(LOGOUT, undefined, token)).data).toEqual({ logout: true });
    const again = await call(LOGOUT, undefined, token);
    expect(again.status).toBe(401);
    expect(again.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expectError(await call(REFRESH, { t: signedIn.data?.login.refreshToken }), 'UNAUTHENTICATED');
  });
});

describe('authenticated mutations', () => {
  const anonymousCalls: [string, string, Record<string, unknown>?][] = [
    ['logout', LOGOUT],
    ['changePassword', CHANGE_PASSWORD, { input: { currentPassword: 'x', newPassword: GOOD_PASSWORD } }],
    ['updateProfile', UPDATE_PROFILE, { input: { firstName: 'Anon' } }],
    ['updatePreferences', UPDATE_PREFERENCES, { input: { theme: 'DARK' } }],
    ['updateConsent', UPDATE_CONSENT, { input: { gdprConsent: true } }],
    ['beginMfaEnrollment', BEGIN_MFA, { p: 'x' }],
    ['confirmMfaEnrollment', CONFIRM_MFA, { c: '123456' }],
    ['regenerateBackupCodes', REGENERATE_CODES, { c: '123456' }],
    ['disableMfa', DISABLE_MFA, { p: 'x', c: '123456' }],
    ['revokeSession', REVOKE_SESSION, { id: '00000000-0000-0000-0000-000000000000' }],
    ['revokeOtherSessions', REVOKE_OTHERS],
  ];

  it.each(anonymousCalls)('%s answers UNAUTHENTICATED to an anonymous caller', async (_name, query, variables) => {
    expectError(await call(query, variables), 'UNAUTHENTICATED');
  });

  it('logout and revokeOtherSessions refuse unknown arguments at validation (HTTP 400)', async () => {
    for (const query of ['mutation { logout(everywhere: true) }', 'mutation { revokeOtherSessions(keep: "x") }']) {
      const result = await call(query, undefined, await login(url));
      expect(result.status).toBe(400);
      expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    }
  });

  it.each(anonymousCalls)('%s refuses a garbage bearer token with 401', async (_name, query, variables) => {
    const result = await call(query, variables, `${KB10}.\u00e9.x`);
    expect(result.status).toBe(401);
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  describe('as a signed-in user', () => {
    let email: string;
    let token: string;
    beforeAll(async () => {
      email = fresh('member');
      token = await registerVerified(email);
    });

    it('changePassword: wrong or hostile current password is FORBIDDEN, a weak new one BAD_USER_INPUT, no change', async () => {
      const forbiddenCurrent = ['', 'wrong password', KB10, 'x'.repeat(200_000), 'a\u0000b'];
      for (const currentPassword of forbiddenCurrent) {
        expectError(
          await call(CHANGE_PASSWORD, { input: { currentPassword, newPassword: OTHER_GOOD_PASSWORD } }, token),
          'FORBIDDEN',
        );
      }
      for (const newPassword of ['', 'short1', 'password1', 'p'.repeat(257), KB10, 'new passphrase\u0000x', email]) {
        expectError(
          await call(CHANGE_PASSWORD, { input: { currentPassword: GOOD_PASSWORD, newPassword } }, token),
          'BAD_USER_INPUT',
          'newPassword',
        );
      }
      expectCoercionError(
        await call(
          CHANGE_PASSWORD,
          { input: { currentPassword: GOOD_PASSWORD, newPassword: OTHER_GOOD_PASSWORD, endOtherSessions: 'yes' } },
          token,
        ),
      );
      expectCoercionError(await call(CHANGE_PASSWORD, { input: { currentPassword: GOOD_PASSWORD } }, token));
      // Nothing changed, and the session is still alive.
      await login(url, email, GOOD_PASSWORD);
      expect((await me(token)).id).toBeTruthy();
    });

    it('updateProfile: oversized, control-character and empty names are BAD_USER_INPUT with no partial write', async () => {
      const before = await me(token);
      const cases: [Record<string, unknown>, string][] = [
        [{ firstName: KB10 }, 'firstName'],
        [{ lastName: KB10 }, 'lastName'],
        [{ displayName: KB10 }, 'displayName'],
        [{ firstName: 'Ok', lastName: 'Bad\u0000' }, 'lastName'],
        [{ firstName: 'Ok', lastName: 'Fine', displayName: 'Bad\r\nX-Header: 1' }, 'displayName'],
        [{ firstName: '\u001b[31mred' }, 'firstName'],
        [{ firstName: '' }, 'firstName'],
        [{ lastName: '     ' }, 'lastName'],
        [{ displayName: '' }, 'displayName'],
      ];
      for (const [input, field] of cases) {
        expectError(await call(UPDATE_PROFILE, { input }, token), 'BAD_USER_INPUT', field);
      }
      expectCoercionError(await call(UPDATE_PROFILE, { input: { firstName: 'Ok', lastName: 5 } }, token));
      expectCoercionError(await call(UPDATE_PROFILE, { input: { firstName: ['a'] } }, token));
      expect(await me(token)).toEqual(before);
      // Valid unicode is fine (NFKC-normalized and trimmed).
      const ok = await call(UPDATE_PROFILE, { input: { firstName: '  Zoë  ', lastName: 'Ørsted' } }, token);
      expect(ok.data).toEqual({ updateProfile: { firstName: 'Zoë', lastName: 'Ørsted', displayName: 'Eve Mallory' } });
    });

    it('updatePreferences: invalid language, time zone and retention are BAD_USER_INPUT with no partial write', async () => {
      const before = await me(token);
      const cases: [Record<string, unknown>, string][] = [
        [{ language: '' }, 'language'],
        [{ language: 'english!!' }, 'language'],
        [{ language: KB10 }, 'language'],
        [{ language: 'en\u0000' }, 'language'],
        [{ language: 'en-US\n' }, 'language'],
        [{ timezone: 'Mars/Olympus_Mons' }, 'timezone'],
        [{ timezone: '' }, 'timezone'],
        [{ timezone: KB10 }, 'timezone'],
        [{ timezone: 'Europe/Berlin\u0000' }, 'timezone'],
        [{ theme: 'DARK', language: 'de', timezone: 'Nowhere/Land' }, 'timezone'],
        [{ theme: 'DARK', privacy: { dataRetentionDays: 0 } }, 'dataRetentionDays'],
        [{ privacy: { dataRetentionDays: 99_999 } }, 'dataRetentionDays'],
        [{ privacy: { dataRetentionDays: -1 } }, 'dataRetentionDays'],
        [{ language: 'fr', privacy: { dataRetentionDays: 3651 } }, 'dataRetentionDays'],
      ];
      for (const [input, field] of cases) {
        expectError(await call(UPDATE_PREFERENCES, { input }, token), 'BAD_USER_INPUT', field);
      }
      expectCoercionError(await call(UPDATE_PREFERENCES, { input: { theme: 'PURPLE' } }, token));
      expectCoercionError(await call(UPDATE_PREFERENCES, { input: { language: 7 } }, token));
      expectCoercionError(
        await call(UPDATE_PREFERENCES, { input: { privacy: { dataRetentionDays: 2 ** 40 } } }, token),
      );
      expectCoercionError(await call(UPDATE_PREFERENCES, { input: { privacy: { dataRetentionDays: 1.5 } } }, token));
      expectCoercionError(await call(UPDATE_PREFERENCES, { input: { notifications: { email: 'no' } } }, token));
      expect(await me(token)).toEqual(before);
      const ok = await call<{ updatePreferences: { preferences: Record<string, unknown> } }>(
        UPDATE_PREFERENCES,
        {
          input: { theme: 'DARK', language: 'pt-BR', timezone: 'Europe/Berlin', privacy: { dataRetentionDays: 3650 } },
        },
        token,
      );
      expect(ok.data?.updatePreferences.preferences).toEqual({
        theme: 'DARK',
        language: 'pt-BR',
        timezone: 'Europe/Berlin',
        privacy: { dataRetentionDays: 3650 },
      });
    });

    it('updateConsent: wrong types are coercion errors and change nothing', async () => {
      const before = await me(token);
      expectCoercionError(await call(UPDATE_CONSENT, { input: { gdprConsent: 'yes' } }, token));
      expectCoercionError(await call(UPDATE_CONSENT, { input: { ccpaOptOut: 0 } }, token));
      expectCoercionError(await call(UPDATE_CONSENT, { input: { gdprConsent: false, unknownField: true } }, token));
      expect(await me(token)).toEqual(before);
      expect((await call(UPDATE_CONSENT, { input: {} }, token)).errors).toBeUndefined();
    });

    it('revokeSession: malformed, unknown and foreign ids are BAD_USER_INPUT on id', async () => {
      const foreign = await tryLogin(ADMIN.email, ADMIN.password);
      const adminSessions = await call<{ mySessions: { id: string; current: boolean }[] }>(
        MY_SESSIONS,
        undefined,
        foreign.data?.login.accessToken,
      );
      const adminSession = adminSessions.data?.mySessions.find((s) => s.current)?.id as string;
      for (const id of [
        '',
        KB10,
        'a\u0000b',
        'not-a-uuid',
        "' OR 1=1 --",
        '00000000-0000-0000-0000-000000000000',
        adminSession,
      ]) {
        expectError(await call(REVOKE_SESSION, { id }, token), 'BAD_USER_INPUT', 'id');
      }
      expectCoercionError(await call(REVOKE_SESSION, { id: { $ne: null } }, token));
      expectCoercionError(await call(REVOKE_SESSION, { id: true }, token));
      // The admin's session survived.
      expect((await me(foreign.data?.login.accessToken as string)).id).toBeTruthy();
    });

    it('revokeOtherSessions ends only the other sessions', async () => {
      const other = await login(url, email, GOOD_PASSWORD);
      const result = await call<{ revokeOtherSessions: number }>(REVOKE_OTHERS, undefined, token);
      expect(result.errors).toBeUndefined();
      expect(result.data?.revokeOtherSessions).toBeGreaterThanOrEqual(1);
      expect((await call(ME, undefined, other)).status).toBe(401);
      expect((await me(token)).id).toBeTruthy();
    });
  });
});

describe('MFA mutations', () => {
  let email: string;
  let token: string;
  beforeAll(async () => {
    email = fresh('mfa');
    token = await registerVerified(email);
  });

  it('refuses everything before enrolment with the right codes', async () => {
    expectError(await call(CONFIRM_MFA, { c: '123456' }, token), 'BAD_USER_INPUT', 'code');
    expectError(await call(REGENERATE_CODES, { c: '123456' }, token), 'FORBIDDEN');
    expectError(await call(REGENERATE_CODES, { c: KB10 }, token), 'BAD_USER_INPUT', 'code');
    expectError(await call(DISABLE_MFA, { p: GOOD_PASSWORD, c: '123456' }, token), 'CONFLICT');
  });

  it('beginMfaEnrollment: a wrong or hostile password is FORBIDDEN and stores no secret', async () => {
    for (const p of ['', 'wrong password', KB10, 'x'.repeat(200_000), 'a\u0000b', '\ud800']) {
      expectError(await call(BEGIN_MFA, { p }, token), 'FORBIDDEN');
    }
    expectCoercionError(await call(BEGIN_MFA, { p: 1 }, token));
    // No enrolment was started.
    expectError(await call(CONFIRM_MFA, { c: '123456' }, token), 'BAD_USER_INPUT', 'code');
  });

  it('enrols, then refuses hostile codes everywhere with MFA staying on', async () => {
    const begun = await call<{ beginMfaEnrollment: { secret: string } }>(BEGIN_MFA, { p: GOOD_PASSWORD }, token);
    const secret = begun.data?.beginMfaEnrollment.secret as string;
    expect(secret).toBeTruthy();
    for (const c of ['', KB10, '12\u00003456', '１２３４５６', '000000', 'abcdef', ' 123456 ']) {
      expectError(await call(CONFIRM_MFA, { c }, token), 'BAD_USER_INPUT', 'code');
    }
    expectCoercionError(await call(CONFIRM_MFA, { c: 123456 }, token));
    const confirmed = await call<{ confirmMfaEnrollment: { codes: string[] } }>(
      CONFIRM_MFA,
      { c: await generateTotp({ secret }) },
      token,
    );
    const codes = confirmed.data?.confirmMfaEnrollment.codes as string[];
    expect(codes).toHaveLength(10);
    expect((await me(token)).mfaEnabled).toBe(true);

    expectError(await call(BEGIN_MFA, { p: GOOD_PASSWORD }, token), 'CONFLICT');
    expectError(await call(CONFIRM_MFA, { c: '123456' }, token), 'CONFLICT');

    for (const c of ['', KB10, 'AAAAA-\u0000AAAA']) {
      expectError(await call(REGENERATE_CODES, { c }, token), 'BAD_USER_INPUT', 'code');
    }
    for (const c of ['000000', 'ZZZZZ-ZZZZZ', "' OR 1=1 --", 'a'.repeat(1000)]) {
      expectError(await call(REGENERATE_CODES, { c }, token), 'FORBIDDEN');
    }
    expectCoercionError(await call(REGENERATE_CODES, { c: 123456 }, token));

    for (const p of ['', 'wrong password', KB10, 'a\u0000b']) {
      expectError(await call(DISABLE_MFA, { p, c: codes[0] }, token), 'FORBIDDEN');
    }
    expectError(await call(DISABLE_MFA, { p: GOOD_PASSWORD, c: KB10 }, token), 'BAD_USER_INPUT', 'code');
    expectError(await call(DISABLE_MFA, { p: GOOD_PASSWORD, c: 'x\u0000' }, token), 'BAD_USER_INPUT', 'code');
    expectError(await call(DISABLE_MFA, { p: GOOD_PASSWORD, c: '999999' }, token), 'FORBIDDEN');
    expectCoercionError(await call(DISABLE_MFA, { p: GOOD_PASSWORD }, token));
    expect((await me(token)).mfaEnabled).toBe(true);

    // Sign-in now needs the second factor; hostile codes fail cleanly, a backup code works once.
    const first = await tryLogin(email, GOOD_PASSWORD);
    expectError(first, 'MFA_REQUIRED');
    const mfaToken = first.errors?.[0]?.extensions?.mfaToken as string;
    expect(mfaToken).toBeTruthy();
    expectError(await call(LOGIN_MFA, { input: { mfaToken, code: KB10 } }), 'BAD_USER_INPUT', 'code');
    expectError(await call(LOGIN_MFA, { input: { mfaToken, code: 'a\u0000' } }), 'BAD_USER_INPUT', 'code');
    expectError(await call(LOGIN_MFA, { input: { mfaToken, code: '000000' } }), 'UNAUTHENTICATED');
    expectError(await call(LOGIN_MFA, { input: { mfaToken, code: 'a'.repeat(1000) } }), 'UNAUTHENTICATED');
    const ok = await call(LOGIN_MFA, { input: { mfaToken, code: codes[1] } });
    expect(ok.errors).toBeUndefined();
    // The challenge and the backup code are spent.
    expectError(await call(LOGIN_MFA, { input: { mfaToken, code: codes[2] } }), 'UNAUTHENTICATED');
    const second = await tryLogin(email, GOOD_PASSWORD);
    const mfaToken2 = second.errors?.[0]?.extensions?.mfaToken as string;
    expectError(await call(LOGIN_MFA, { input: { mfaToken: mfaToken2, code: codes[1] } }), 'UNAUTHENTICATED');

    // Valid changes still work after all that.
    const regenerated = await call<{ regenerateBackupCodes: { codes: string[] } }>(
      REGENERATE_CODES,
      { c: codes[3] },
      token,
    );
    const fresh10 = regenerated.data?.regenerateBackupCodes.codes as string[];
    expect(fresh10).toHaveLength(10);
    expectError(await call(DISABLE_MFA, { p: GOOD_PASSWORD, c: codes[4] }, token), 'FORBIDDEN');
    expect((await call(DISABLE_MFA, { p: GOOD_PASSWORD, c: fresh10[0] }, token)).data).toEqual({ disableMfa: true });
    expect((await me(token)).mfaEnabled).toBe(false);
  });
});

describe('transport-level hostility', () => {
  it('answers an oversized body with 413 BAD_REQUEST, not a 500', async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: REGISTER,
        variables: { input: registration(fresh('big'), { firstName: 'x'.repeat(2_000_000) }) },
      }),
    });
    expect(response.status).toBe(413);
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe('BAD_REQUEST');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Regressions: each of these answered INTERNAL_SERVER_ERROR or stored mangled data before it was fixed.

describe('unicode edge cases and concurrency', () => {
  // A lone UTF-16 surrogate once reached the failed-login audit row (jsonb), which PostgreSQL refuses.
  it('login with a lone-surrogate email answers UNAUTHENTICATED or BAD_USER_INPUT, not INTERNAL_SERVER_ERROR', async () => {
    const result = await tryLogin('\ud800nobody@hostile.example', 'some password');
    expect(['UNAUTHENTICATED', 'BAD_USER_INPUT']).toContain(result.errors?.[0]?.extensions?.code);
  });

  // pg would store a lone surrogate as U+FFFD: an account for another address than the one submitted.
  it('register refuses a lone-surrogate email instead of storing a mangled address', async () => {
    const email = `\udc00${fresh('surrogate')}`;
    expectError(await call(REGISTER, { input: registration(email) }), 'BAD_USER_INPUT', 'email');
  });

  // C1 controls (U+0080–U+009F, e.g. U+009B CSI, an ANSI escape introducer) are refused like C0 ones.
  it('register refuses C1 control characters in names', async () => {
    const result = await call(REGISTER, { input: registration(fresh('c1'), { firstName: 'Eve\u009b31m' }) });
    expectError(result, 'BAD_USER_INPUT', 'firstName');
  });

  // PGlite's socket multiplexer interleaves concurrent connections' protocol messages; the platform now gives
  // the embedded database a single connection (platform.ts), so bursts of requests are safe there too.
  it('concurrent requests never answer INTERNAL_SERVER_ERROR', async () => {
    const codes: string[] = [];
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all([
        ...Array.from({ length: 10 }, (_, i) => call(VERIFY, { token: `random-${round}-${i}` })),
        ...Array.from({ length: 10 }, (_, i) => call(REQUEST_RESET, { email: fresh(`burst-${round}-${i}`) })),
        ...Array.from({ length: 10 }, (_, i) => call(RESEND, { email: fresh(`burst-${round}-${i}`) })),
      ]);
      codes.push(...results.map((r) => String(r.errors?.[0]?.extensions?.code ?? 'OK')));
    }
    expect(codes.filter((c) => c !== 'OK' && c !== 'BAD_USER_INPUT')).toEqual([]);
  });
});
