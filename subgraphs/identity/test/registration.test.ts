// The registration module on the subgraph harness: register, verifyEmail, resendVerification,
// requestPasswordReset and resetPassword. Hostile input gets a stable extensions.code (BAD_USER_INPUT naming
// the field, RATE_LIMITED), never an HTTP 500 or INTERNAL_SERVER_ERROR, never a hang and never a partial write;
// there is no account enumeration (register, reset and resend answer alike for known and unknown addresses);
// tokens are single-use under concurrency and bound to their purpose; the mails land in the outbox.
import { seedFirstAdmin } from '@g3d/identity';
import {
  DEV_MAILBOX,
  type Harness,
  LOGIN,
  ME,
  ok,
  outbox,
  person,
  platformAdmin,
  REFRESH_TOKENS,
  REGISTER,
  REQUEST_PASSWORD_RESET,
  RESEND_VERIFICATION,
  RESET_PASSWORD,
  signIn,
  type SubgraphClient,
  VERIFY_EMAIL,
} from '@g3d/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  call,
  expectCoercionError,
  expectError,
  expectValidationError,
  fresh,
  GOOD_PASSWORD,
  INVALID_EMAILS,
  KB10,
  OTHER_GOOD_PASSWORD,
  startIdentity,
} from './support.ts';

/** An account that exists before the file's tests run (seeded like the platform's first admin: no mail yet). */
const EXISTING = { email: 'alice@a.example', password: 'correct horse battery staple' };

let harness: Harness;
let anonymous: SubgraphClient;
/** The development mailbox's reader. */
let admin: SubgraphClient;
beforeAll(async () => {
  harness = await startIdentity();
  anonymous = harness.as();
  admin = harness.as(platformAdmin());
  await seedFirstAdmin(harness.db, EXISTING);
});
afterAll(() => harness?.close());

const REGISTER_ = REGISTER.document;
const VERIFY = VERIFY_EMAIL.document;
const RESEND = RESEND_VERIFICATION.document;
const REQUEST_RESET = REQUEST_PASSWORD_RESET.document;
const RESET = RESET_PASSWORD.document;

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
/** The development mailbox of `email` (identity's devMailbox query: the outbox). */
async function mailbox(email: string): Promise<Mail[]> {
  const result = await call<{ devMailbox: Mail[] }>(admin, DEV_MAILBOX.document, { to: email });
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

/** Signs in (the account exists, is verified and the password is right), else fails the test. */
const login = (email: string, password: string) => signIn(harness, email, password);

async function registerVerified(email: string, password = GOOD_PASSWORD) {
  const registered = await call(anonymous, REGISTER_, { input: registration(email, { password }) });
  expect(registered.errors).toBeUndefined();
  const verified = await call(anonymous, VERIFY, { token: await mailToken(email, 'verify_email') });
  expect(verified.data).toEqual({ verifyEmail: true });
  return login(email, password);
}

function tryLogin(email: string, password: string) {
  return call<{ login: { accessToken: string } }>(anonymous, LOGIN.document, { input: { email, password } });
}

/** No account exists for this address: a login fails exactly like an unknown email, and no mail was written. */
async function expectNoAccount(email: string, password = GOOD_PASSWORD) {
  const attempt = await tryLogin(email, password);
  expectError(attempt, 'UNAUTHENTICATED');
  expect(attempt.errors?.[0]?.message).toBe('Invalid email or password');
  expect(await mailbox(email)).toEqual([]);
}

describe('the development mailbox', () => {
  it('is for platform administrators only, and hands out the link and its token as fields', async () => {
    const email = fresh('mailbox');
    expect((await call(anonymous, REGISTER_, { input: registration(email) })).errors).toBeUndefined();
    for (const who of [anonymous, harness.as(person('someone@else.example'))]) {
      const refused = await call(who, DEV_MAILBOX.document, { to: email });
      expect(refused.errors?.[0]?.extensions?.code).toMatch(/UNAUTHENTICATED|FORBIDDEN/);
      expect(refused.data).toBeNull();
    }
    const result = await call<{ devMailbox: { kind: string; link: string; token: string }[] }>(
      admin,
      'query($to: String!) { devMailbox(to: $to) { kind link token } }',
      { to: email },
    );
    const [mail] = result.data?.devMailbox ?? [];
    expect(mail?.kind).toBe('verify_email');
    expect(mail?.link).toMatch(/\/verify-email\?token=/);
    expect(new URL(mail?.link ?? 'http://x').searchParams.get('token')).toBe(mail?.token);
    expect((await call(anonymous, VERIFY, { token: mail?.token })).errors).toBeUndefined();
  });
});

describe('register', () => {
  it.each(INVALID_EMAILS)('rejects an invalid email (%s) with BAD_USER_INPUT on email', async (_label, email) => {
    expectError(await call(anonymous, REGISTER_, { input: registration(email) }), 'BAD_USER_INPUT', 'email');
  });

  it('accepts a unicode (homoglyph) domain like any other address', async () => {
    const result = await call(anonymous, REGISTER_, {
      input: registration(fresh('homoglyph').replace('example', 'exаmple')),
    });
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
      expectError(await call(anonymous, REGISTER_, { input: registration(email, overrides) }), 'BAD_USER_INPUT', field);
    }
    // Nothing was created: the address has no account and no mail, and a valid registration is a first one.
    await expectNoAccount(email);
    expect((await call(anonymous, REGISTER_, { input: registration(email) })).errors).toBeUndefined();
    expect(kinds(await mailbox(email))).toEqual(['verify_email']);
  });

  it('accepts passwords at the limits (8 and 256 code points, emoji, spaces)', async () => {
    for (const password of ['abcd1234x', 'p'.repeat(256), '\u{1F600}'.repeat(256), '  spaced  out  pass  ']) {
      const result = await call(anonymous, REGISTER_, { input: registration(fresh('limits'), { password }) });
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
    for (const input of bad) expectCoercionError(await call(anonymous, REGISTER_, { input }));
    expectCoercionError(await call(anonymous, REGISTER_, { input: registration(42 as unknown as string) }));
    expectCoercionError(await call(anonymous, REGISTER_, {}));
    expectCoercionError(await call(anonymous, REGISTER_, { input: 'not an object' }));
    // A literal with missing fields fails validation (also a 400).
    expectValidationError(
      await call(anonymous, `mutation { register(input: { email: "${email}", password: "x" }) { message } }`),
    );
    await expectNoAccount(email);
  });

  it('answers an existing address exactly like a new one, and mails a notice instead of a link', async () => {
    const newEmail = fresh('enum-new');
    const existing = await call(anonymous, REGISTER_, { input: registration(EXISTING.email) });
    const created = await call(anonymous, REGISTER_, { input: registration(newEmail) });
    expect(existing.errors).toBeUndefined();
    expect(existing).toEqual(created);
    expect(kinds(await mailbox(newEmail))).toEqual(['verify_email']);
    const existingMails = kinds(await mailbox(EXISTING.email));
    expect(existingMails).toContain('email_exists');
    expect(existingMails).not.toContain('verify_email');
    // The existing account is untouched: it still signs in with the old password.
    await login(EXISTING.email, EXISTING.password);
  });

  it('registers one new address sent 5 times at once as exactly one account', async () => {
    const email = fresh('race');
    const results = await Promise.all(
      Array.from({ length: 5 }, () => call(anonymous, REGISTER_, { input: registration(email) })),
    );
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
    // One account. Its address is unverified, so an accepted attempt that finds it re-sends the verification link
    // (a retried registration must let the person in); one that lost the race to create it mails nothing. No
    // "already registered" notice, and nothing for the limited ones.
    const { rows } = await harness.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM identity.users WHERE email = $1',
      [email],
    );
    expect(rows[0]?.n).toBe(1);
    const mails = kinds(await mailbox(email));
    expect(mails.length).toBeGreaterThanOrEqual(1);
    expect(mails.length).toBeLessThanOrEqual(3);
    expect(new Set(mails)).toEqual(new Set(['verify_email']));
    await call(anonymous, VERIFY, { token: await mailToken(email, 'verify_email') });
    await login(email, GOOD_PASSWORD);
  });

  it('lowercases the address, writes the verification mail to the outbox, and needs it before a login', async () => {
    const result = await call<{ register: { message: string } }>(anonymous, REGISTER_, {
      input: registration('Dana.Doe@Example.COM'),
    });
    expect(result.data?.register.message).toMatch(/check your inbox/i);
    // In the outbox table itself (not only in a log), under the normalized address.
    expect((await outbox(harness, 'dana.doe@example.com')).map((m) => m.kind)).toEqual(['verify_email']);
    const early = await tryLogin('Dana.Doe@Example.COM', GOOD_PASSWORD);
    expect(early.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'EMAIL_NOT_VERIFIED' });
    const token = await mailToken('dana.doe@example.com', 'verify_email');
    expect((await call(anonymous, VERIFY, { token })).data).toEqual({ verifyEmail: true });
    const again = await call(anonymous, VERIFY, { token });
    expect(again.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'token' });
    const session = await login('Dana.Doe@Example.COM', GOOD_PASSWORD);
    expect(session.user.email).toBe('dana.doe@example.com');
    const me = await ok(session.client, ME);
    expect(me.me).toMatchObject({ email: 'dana.doe@example.com', emailVerified: true, mfaEnabled: false });
  });
});

describe('verifyEmail', () => {
  it('rejects malformed and random tokens with BAD_USER_INPUT on token', async () => {
    for (const token of ['', KB10, 'abc\u0000def', 'abc\ndef', 'a'.repeat(43), 'ZZZZ-not-a-token', '\u{1F600}']) {
      expectError(await call(anonymous, VERIFY, { token }), 'BAD_USER_INPUT', 'token');
    }
    expectCoercionError(await call(anonymous, VERIFY, { token: 123 }));
    expectCoercionError(await call(anonymous, VERIFY, {}));
  });

  it('accepts one of 5 concurrent uses of a token, and refuses a second use', async () => {
    const email = fresh('verify-race');
    await call(anonymous, REGISTER_, { input: registration(email) });
    const token = await mailToken(email, 'verify_email');
    const results = await Promise.all(Array.from({ length: 5 }, () => call(anonymous, VERIFY, { token })));
    expect(results.filter((r) => r.data?.verifyEmail === true)).toHaveLength(1);
    for (const result of results.filter((r) => r.data?.verifyEmail !== true)) {
      expectError(result, 'BAD_USER_INPUT', 'token');
    }
    expectError(await call(anonymous, VERIFY, { token }), 'BAD_USER_INPUT', 'token');
    await login(email, GOOD_PASSWORD);
  });

  it('refuses a reset token as a verification token and a verification token as a reset token, spending neither', async () => {
    const email = fresh('purpose');
    await call(anonymous, REGISTER_, { input: registration(email) });
    const verifyToken = await mailToken(email, 'verify_email');
    await call(anonymous, REQUEST_RESET, { email });
    const resetToken = await mailToken(email, 'reset_password');
    expectError(await call(anonymous, VERIFY, { token: resetToken }), 'BAD_USER_INPUT', 'token');
    expectError(
      await call(anonymous, RESET, { input: { token: verifyToken, newPassword: OTHER_GOOD_PASSWORD } }),
      'BAD_USER_INPUT',
      'token',
    );
    // Still unverified, old password unchanged.
    expect((await tryLogin(email, GOOD_PASSWORD)).errors?.[0]?.extensions?.reason).toBe('EMAIL_NOT_VERIFIED');
    // Neither token was spent by the mismatched use.
    expect((await call(anonymous, VERIFY, { token: verifyToken })).data).toEqual({ verifyEmail: true });
    expect(
      (await call(anonymous, RESET, { input: { token: resetToken, newPassword: OTHER_GOOD_PASSWORD } })).data,
    ).toEqual({ resetPassword: true });
    await login(email, OTHER_GOOD_PASSWORD);
  });
});

describe('resendVerification', () => {
  it.each(INVALID_EMAILS)('rejects an invalid email (%s) with BAD_USER_INPUT on email', async (_label, email) => {
    expectError(await call(anonymous, RESEND, { email }), 'BAD_USER_INPUT', 'email');
  });

  it('answers alike for unknown, unverified and verified addresses, and rate limits the 4th within an hour', async () => {
    const unverified = fresh('resend');
    await call(anonymous, REGISTER_, { input: registration(unverified) });
    const answers = await Promise.all([
      call(anonymous, RESEND, { email: fresh('resend-unknown') }),
      call(anonymous, RESEND, { email: EXISTING.email }),
      call(anonymous, RESEND, { email: unverified }),
    ]);
    for (const answer of answers) expect(answer).toEqual({ status: 200, data: { resendVerification: true } });
    for (let i = 0; i < 2; i++)
      expect((await call(anonymous, RESEND, { email: unverified })).data).toEqual({ resendVerification: true });
    const limited = await call(anonymous, RESEND, { email: ` ${unverified.toUpperCase()} ` });
    expectError(limited, 'RATE_LIMITED');
    const retryAfter = limited.errors?.[0]?.extensions?.retryAfterSeconds;
    expect(typeof retryAfter).toBe('number');
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    // 1 from registration + 3 resends; the limited request mailed nothing.
    expect(kinds(await mailbox(unverified))).toEqual(['verify_email', 'verify_email', 'verify_email', 'verify_email']);
    expectCoercionError(await call(anonymous, RESEND, { email: 7 }));
  });
});

describe('requestPasswordReset and resetPassword', () => {
  it.each(INVALID_EMAILS)('rejects an invalid email (%s) with BAD_USER_INPUT on email', async (_label, email) => {
    expectError(await call(anonymous, REQUEST_RESET, { email }), 'BAD_USER_INPUT', 'email');
  });

  it('answers identically for an unknown and a known address, mailing only the known one', async () => {
    const known = fresh('reset-known');
    const unknown = fresh('reset-unknown');
    await registerVerified(known);
    const a = await call(anonymous, REQUEST_RESET, { email: unknown });
    const b = await call(anonymous, REQUEST_RESET, { email: known });
    expect(a).toEqual(b);
    expect(a).toEqual({ status: 200, data: { requestPasswordReset: true } });
    expect(await mailbox(unknown)).toEqual([]);
    expectCoercionError(await call(anonymous, REQUEST_RESET, { email: 42 }));
    expectCoercionError(await call(anonymous, REQUEST_RESET, {}));
    expect(kinds(await mailbox(known))).toContain('reset_password');
    await call(anonymous, REQUEST_RESET, { email: known });
    await call(anonymous, REQUEST_RESET, { email: known });
    const limited = await call(anonymous, REQUEST_RESET, { email: known });
    expectError(limited, 'RATE_LIMITED');
    expect(typeof limited.errors?.[0]?.extensions?.retryAfterSeconds).toBe('number');
  });

  it('rejects malformed and random tokens, whatever the new password', async () => {
    for (const token of ['', KB10, 'a\u0000b', 'random-token-that-was-never-issued']) {
      expectError(
        await call(anonymous, RESET, { input: { token, newPassword: GOOD_PASSWORD } }),
        'BAD_USER_INPUT',
        'token',
      );
    }
    // An unknown token with a hostile password is still just an invalid token.
    for (const newPassword of [KB10, 'x'.repeat(200_000), 'a\u0000b', '']) {
      expectError(
        await call(anonymous, RESET, { input: { token: 'never-issued', newPassword } }),
        'BAD_USER_INPUT',
        'token',
      );
    }
    expectCoercionError(await call(anonymous, RESET, { input: { token: 'abc', newPassword: 12345678 } }));
    expectCoercionError(await call(anonymous, RESET, { input: { token: 'abc' } }));
  });

  it('refuses a weak new password without spending the token; the old password keeps working', async () => {
    const email = fresh('reset-weak');
    await registerVerified(email);
    await call(anonymous, REQUEST_RESET, { email });
    const token = await mailToken(email, 'reset_password');
    for (const newPassword of ['', 'short1', 'password1', 'p'.repeat(257), KB10, 'new passphrase\u0000NUL', email]) {
      expectError(await call(anonymous, RESET, { input: { token, newPassword } }), 'BAD_USER_INPUT', 'newPassword');
    }
    await login(email, GOOD_PASSWORD);
    // The same token still works with a good password, then never again.
    expect((await call(anonymous, RESET, { input: { token, newPassword: OTHER_GOOD_PASSWORD } })).data).toEqual({
      resetPassword: true,
    });
    expectError(await tryLogin(email, GOOD_PASSWORD), 'UNAUTHENTICATED');
    await login(email, OTHER_GOOD_PASSWORD);
    expectError(
      await call(anonymous, RESET, { input: { token, newPassword: 'yet another good passphrase' } }),
      'BAD_USER_INPUT',
      'token',
    );
    await login(email, OTHER_GOOD_PASSWORD);
  });

  it('accepts one of 5 concurrent resets with the same token', async () => {
    const email = fresh('reset-race');
    await registerVerified(email);
    await call(anonymous, REQUEST_RESET, { email });
    const token = await mailToken(email, 'reset_password');
    const passwords = Array.from({ length: 5 }, (_, i) => `concurrent passphrase number ${i}`);
    const results = await Promise.all(
      passwords.map((newPassword) => call(anonymous, RESET, { input: { token, newPassword } })),
    );
    const winners = passwords.filter((_, i) => results[i]?.data?.resetPassword === true);
    expect(winners).toHaveLength(1);
    for (const result of results.filter((r) => r.data?.resetPassword !== true)) {
      expectError(result, 'BAD_USER_INPUT', 'token');
    }
    await login(email, winners[0] as string);
  });

  it('a reset ends every session (their refresh tokens are refused) and mails a notice', async () => {
    const email = fresh('reset-sessions');
    const live = await registerVerified(email);
    await call(anonymous, REQUEST_RESET, { email: email.toUpperCase() });
    const token = await mailToken(email, 'reset_password');
    expect((await call(anonymous, RESET, { input: { token, newPassword: OTHER_GOOD_PASSWORD } })).data).toEqual({
      resetPassword: true,
    });
    const refreshed = await call(anonymous, REFRESH_TOKENS.document, { refreshToken: live.refreshToken });
    expectError(refreshed, 'UNAUTHENTICATED');
    expectError(await tryLogin(email, GOOD_PASSWORD), 'UNAUTHENTICATED');
    await login(email, OTHER_GOOD_PASSWORD);
    expect(kinds(await mailbox(email))).toContain('password_changed');
  });
});

// Regressions: each of these answered INTERNAL_SERVER_ERROR or stored mangled data before it was fixed.
describe('unicode edge cases and concurrency', () => {
  // pg would store a lone surrogate as U+FFFD: an account for another address than the one submitted.
  it('register refuses a lone-surrogate email instead of storing a mangled address', async () => {
    const email = `\udc00${fresh('surrogate')}`;
    expectError(await call(anonymous, REGISTER_, { input: registration(email) }), 'BAD_USER_INPUT', 'email');
  });

  // C1 controls (U+0080–U+009F, e.g. U+009B CSI, an ANSI escape introducer) are refused like C0 ones.
  it('register refuses C1 control characters in names', async () => {
    const result = await call(anonymous, REGISTER_, {
      input: registration(fresh('c1'), { firstName: 'Eve\u009b31m' }),
    });
    expectError(result, 'BAD_USER_INPUT', 'firstName');
  });

  // PGlite's socket multiplexer interleaves concurrent connections' protocol messages; the embedded database gets
  // a single connection, so bursts of requests are safe there too.
  it('concurrent requests never answer INTERNAL_SERVER_ERROR', async () => {
    const codes: string[] = [];
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all([
        ...Array.from({ length: 10 }, (_, i) => call(anonymous, VERIFY, { token: `random-${round}-${i}` })),
        ...Array.from({ length: 10 }, (_, i) =>
          call(anonymous, REQUEST_RESET, { email: fresh(`burst-${round}-${i}`) }),
        ),
        ...Array.from({ length: 10 }, (_, i) => call(anonymous, RESEND, { email: fresh(`burst-${round}-${i}`) })),
      ]);
      codes.push(...results.map((r) => String(r.errors?.[0]?.extensions?.code ?? 'OK')));
    }
    expect(codes.filter((c) => c !== 'OK' && c !== 'BAD_USER_INPUT')).toEqual([]);
  });
});
