// Signing in (the auth module) on the subgraph harness: hostile input to login and loginWithMfa answers with a
// stable code, never a 500 or a hang; unknown addresses and wrong passwords are indistinguishable (answer and
// time); brute force cannot be raced (100 concurrent wrong passwords leave exactly 10 counted failures and one
// lock that holds also for the right password; unknown addresses lock alike); one client IP (as the gateway
// passes it in its token) trying many accounts is throttled; old password hashes are upgraded at login.
import { seedFirstAdmin } from '@g3d/identity';
import {
  type Harness,
  LOGIN,
  LOGIN_WITH_MFA,
  platformAdmin,
  registerAndVerify,
  signIn,
  type SubgraphClient,
} from '@g3d/testkit';
import { hash } from '@node-rs/argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  call,
  expectCoercionError,
  expectError,
  fresh,
  GOOD_PASSWORD,
  INVALID_EMAILS,
  KB10,
  startIdentity,
} from './support.ts';

const ADMIN = { email: 'alice@a.example', password: 'correct horse battery staple' };
const LOGIN_LIMIT_PER_IP = 20;

let harness: Harness;
let anonymous: SubgraphClient;
beforeAll(async () => {
  // Default lockout (10 failures per address); a small per-IP window to test it. Calls without a client address
  // (the harness default) are not counted per IP.
  harness = await startIdentity({ LOGIN_IP_LIMIT: String(LOGIN_LIMIT_PER_IP) });
  anonymous = harness.as();
  await seedFirstAdmin(harness.db, ADMIN);
});
afterAll(() => harness?.close());

const LOGIN_ = LOGIN.document;
const LOGIN_MFA = LOGIN_WITH_MFA.document;

const tryLogin = (email: string, password: string, from: SubgraphClient = anonymous) =>
  call<{ login: { accessToken: string } }>(from, LOGIN_, { input: { email, password } });

/** A client calling identity from `ip`, as the gateway reports it. */
const fromIp = (ip: string) => harness.as(undefined, { client: { ip, userAgent: 'attacker/1.0' } });

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

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
    const email = fresh('odd-password');
    await registerAndVerify(harness, email, GOOD_PASSWORD);
    for (const password of ['a\u0000b', '\u0001\u0002\u0003', 'tab\there', '\u{1F600}'.repeat(300), '\ud800x']) {
      const result = await tryLogin(email, password);
      expectError(result, 'UNAUTHENTICATED');
      expect(result.errors?.[0]?.message).toBe('Invalid email or password');
    }
  });

  it('fails identically for an unknown email and a wrong password', async () => {
    const email = fresh('wrong-password');
    await registerAndVerify(harness, email, GOOD_PASSWORD);
    const unknown = await tryLogin(fresh('nobody'), 'wrong password here');
    const wrong = await tryLogin(email, 'wrong password here');
    expectError(unknown, 'UNAUTHENTICATED');
    expect(unknown).toEqual(wrong);
  });

  it('refuses wrong types and missing fields as coercion errors', async () => {
    expectCoercionError(await call(anonymous, LOGIN_, { input: { email: 1, password: 'x' } }));
    expectCoercionError(await call(anonymous, LOGIN_, { input: { email: ADMIN.email, password: true } }));
    expectCoercionError(await call(anonymous, LOGIN_, { input: { email: ADMIN.email } }));
    expectCoercionError(await call(anonymous, LOGIN_, { input: null }));
  });

  // A lone UTF-16 surrogate once reached the failed-login audit row (jsonb), which PostgreSQL refuses.
  it('with a lone-surrogate email answers UNAUTHENTICATED or BAD_USER_INPUT, not INTERNAL_SERVER_ERROR', async () => {
    const result = await tryLogin('\ud800nobody@hostile.example', 'some password');
    expect(['UNAUTHENTICATED', 'BAD_USER_INPUT']).toContain(result.errors?.[0]?.extensions?.code);
  });

  it('spends about the same time on an unknown email as on a wrong password (both run argon2)', async () => {
    // Two known accounts take turns, so that neither reaches the lockout (10 failures) within the 17 attempts.
    const known = [fresh('timing-a'), fresh('timing-b')];
    for (const email of known) await registerAndVerify(harness, email, GOOD_PASSWORD);
    const time = async (address: string) => {
      const start = performance.now();
      const result = await tryLogin(address, 'definitely not the password');
      const elapsed = performance.now() - start;
      expectError(result, 'UNAUTHENTICATED');
      return elapsed;
    };
    // Warm both paths (the dummy hash is computed on first use).
    await time(fresh('timing-unknown'));
    await time(known[1] as string);
    const unknown: number[] = [];
    const wrong: number[] = [];
    // Interleaved (still sequential) so that drift in machine load affects both series alike.
    for (let i = 0; i < 15; i++) {
      unknown.push(await time(fresh('timing-unknown')));
      wrong.push(await time(known[i % 2] as string));
    }
    const [mu, mw] = [median(unknown), median(wrong)];
    console.log(`login timing: median unknown email ${mu.toFixed(1)} ms, median wrong password ${mw.toFixed(1)} ms`);
    expect(Math.max(mu, mw) / Math.min(mu, mw)).toBeLessThan(2);
  });

  it('upgrades a password hash made with old argon2 parameters at the next login', async () => {
    const weak = await hash(ADMIN.password, { algorithm: 2, memoryCost: 4096, timeCost: 1, parallelism: 1 });
    await harness.db.pool.query(`UPDATE identity.users SET password_hash = $1 WHERE email = $2`, [weak, ADMIN.email]);
    await signIn(harness, ADMIN.email, ADMIN.password);
    const { rows } = await harness.db.pool.query<{ password_hash: string }>(
      `SELECT password_hash FROM identity.users WHERE email = $1`,
      [ADMIN.email],
    );
    expect(rows[0]?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    await signIn(harness, ADMIN.email, ADMIN.password);
  });
});

describe('loginWithMfa', () => {
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
    for (const [input, code, field] of cases) expectError(await call(anonymous, LOGIN_MFA, { input }), code, field);
    // An access token is not an MFA challenge.
    const { accessToken } = await signIn(harness, ADMIN.email, ADMIN.password);
    expectError(
      await call(anonymous, LOGIN_MFA, { input: { mfaToken: accessToken, code: '123456' } }),
      'UNAUTHENTICATED',
    );
    expectCoercionError(await call(anonymous, LOGIN_MFA, { input: { mfaToken: 'x', code: 123456 } }));
  });
});

describe('brute force', () => {
  const VICTIM = { email: 'victim@a.example', password: 'victim has a good passphrase' };
  let victimId: string;
  beforeAll(async () => {
    victimId = (await registerAndVerify(harness, VICTIM.email, VICTIM.password)).userId;
  });

  it('100 concurrent wrong passwords: exactly 10 failures counted, then a lock that holds', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        tryLogin(VICTIM.email, `wrong password ${i}`, fromIp(`198.51.100.${i + 1}`)),
      ),
    );
    const codes = results.map((r) => r.errors?.[0]?.extensions?.code);
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(codes.filter((c) => c === 'UNAUTHENTICATED')).toHaveLength(10);
    expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(90);
    const limited = results.find((r) => r.errors?.[0]?.extensions?.code === 'RATE_LIMITED');
    expect(limited?.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);

    // The right password does not open a locked account.
    const right = await tryLogin(VICTIM.email, VICTIM.password, fromIp('203.0.113.7'));
    expect(right.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');

    // The audit log counted exactly what happened, from the address the gateway reported.
    const audit = await harness
      .as(platformAdmin())
      .gql<{ auditEvents: { events: { type: string; ip: string; userAgent: string }[] } }>(
        'query($u: ID!) { auditEvents(userId: $u, first: 200) { events { type ip userAgent } } }',
        { u: victimId },
      );
    const types = audit.data?.auditEvents.events.map((e) => e.type) ?? [];
    expect(types.filter((t) => t === 'login.failed')).toHaveLength(10);
    expect(types.filter((t) => t === 'login.locked')).toHaveLength(1);
    expect(types).not.toContain('login.succeeded');
    const failed = audit.data?.auditEvents.events.find((e) => e.type === 'login.failed');
    expect(failed?.ip).toMatch(/^198\.51\.100\./);
    expect(failed?.userAgent).toBe('attacker/1.0');
  });

  it('locks an unknown address exactly like a real one (no enumeration through the lock)', async () => {
    const results = [];
    for (let i = 0; i < 11; i += 1)
      results.push(await tryLogin('nobody@a.example', 'whatever password', fromIp(`192.0.2.${i + 1}`)));
    const codes = results.map((r) => r.errors?.[0]?.extensions?.code);
    expect(codes.slice(0, 10).every((c) => c === 'UNAUTHENTICATED')).toBe(true);
    expect(codes[10]).toBe('RATE_LIMITED');
    expect(results[10]?.errors?.[0]?.message).toBe('Too many attempts; try again later');
  });

  it('a burst of correct logins never locks the account (successes give their ticket back)', async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => tryLogin(ADMIN.email, ADMIN.password, fromIp(`100.64.0.${i + 1}`))),
    );
    const codes = results.map((r) => r.errors?.[0]?.extensions?.code ?? 'OK');
    // At most 10 attempts per account are checked at once; the rest are asked to retry, none fail.
    expect(codes.filter((c) => c === 'OK').length).toBeGreaterThanOrEqual(10);
    expect(codes.every((c) => c === 'OK' || c === 'RATE_LIMITED')).toBe(true);
    const after = await tryLogin(ADMIN.email, ADMIN.password, fromIp('100.64.1.1'));
    expect(after.errors).toBeUndefined();
  });

  it('throttles one client address trying many accounts', async () => {
    const spray = fromIp('203.0.113.99');
    const codes = [];
    for (let i = 0; i <= LOGIN_LIMIT_PER_IP; i += 1) {
      const result = await tryLogin(`spray${i}@a.example`, 'Password spraying!', spray);
      codes.push(result.errors?.[0]?.extensions?.code);
    }
    expect(codes.slice(0, LOGIN_LIMIT_PER_IP).every((c) => c === 'UNAUTHENTICATED')).toBe(true);
    expect(codes[LOGIN_LIMIT_PER_IP]).toBe('RATE_LIMITED');
    // Another address is not affected.
    expectError(
      await tryLogin('spray-other@a.example', 'Password spraying!', fromIp('203.0.113.100')),
      'UNAUTHENTICATED',
    );
  });
});
