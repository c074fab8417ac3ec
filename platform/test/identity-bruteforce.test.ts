// Brute-force protection that cannot be raced: 100 concurrent wrong-password attempts against one account
// leave exactly 10 counted failures, one lock, and the lock in place — also for the right password. Unknown
// addresses lock the same way (no enumeration); one client IP trying many accounts is throttled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ADMIN, gql, login, startTestPlatform, type TestPlatform } from './helpers.ts';

let platform: TestPlatform;
const VICTIM = { email: 'victim@a.example', password: 'victim has a good passphrase' };

beforeAll(async () => {
  // Behind one trusted proxy, so each simulated attacker request can come from its own address.
  platform = await startTestPlatform({ TRUST_PROXY_HOPS: '1', LOGIN_IP_LIMIT: '20' });
  const url = platform.gatewayUrl;
  await gql(url, 'mutation($i: RegisterInput!) { register(input: $i) { message } }', {
    variables: {
      i: {
        ...VICTIM,
        firstName: 'Vic',
        lastName: 'Tim',
        acceptTerms: true,
        acceptPrivacyPolicy: true,
        gdprConsent: true,
      },
    },
  });
  const mail = await gql<{ devMailbox: { text: string }[] }>(url, '{ devMailbox(to: "victim@a.example") { text } }');
  const token = /token=([A-Za-z0-9_-]+)/.exec(mail.data?.devMailbox[0]?.text ?? '')?.[1];
  await gql(url, 'mutation($t: String!) { verifyEmail(token: $t) }', { variables: { t: token } });
});
afterAll(() => platform?.close());

const LOGIN = 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }';
const attempt = (email: string, password: string, ip: string) =>
  gql(platform.gatewayUrl, LOGIN, { variables: { i: { email, password } }, headers: { 'x-forwarded-for': ip } });

describe('login brute force', () => {
  it('100 concurrent wrong passwords: exactly 10 failures counted, then a lock that holds', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => attempt(VICTIM.email, `wrong password ${i}`, `198.51.100.${i + 1}`)),
    );
    const codes = results.map((r) => r.errors?.[0]?.extensions?.code);
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(codes.filter((c) => c === 'UNAUTHENTICATED')).toHaveLength(10);
    expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(90);
    const limited = results.find((r) => r.errors?.[0]?.extensions?.code === 'RATE_LIMITED');
    expect(limited?.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);

    // The right password does not open a locked account.
    const right = await attempt(VICTIM.email, VICTIM.password, '203.0.113.7');
    expect(right.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');

    // The audit log counted exactly what happened.
    const admin = await login(platform.gatewayUrl);
    const audit = await gql<{ auditEvents: { events: { type: string; ip: string }[] } }>(
      platform.gatewayUrl,
      'query($u: ID!) { auditEvents(userId: $u, first: 200) { events { type ip } } }',
      { token: admin, variables: { u: await victimId(admin) } },
    );
    const types = audit.data?.auditEvents.events.map((e) => e.type) ?? [];
    expect(types.filter((t) => t === 'login.failed')).toHaveLength(10);
    expect(types.filter((t) => t === 'login.locked')).toHaveLength(1);
    expect(types).not.toContain('login.succeeded');
    // The client address as the gateway saw it (first hop from the trusted proxy).
    expect(audit.data?.auditEvents.events.find((e) => e.type === 'login.failed')?.ip).toMatch(/^198\.51\.100\./);
  });

  it('locks an unknown address exactly like a real one (no enumeration through the lock)', async () => {
    const results = [];
    for (let i = 0; i < 11; i += 1)
      results.push(await attempt('nobody@a.example', 'whatever password', `192.0.2.${i + 1}`));
    const codes = results.map((r) => r.errors?.[0]?.extensions?.code);
    expect(codes.slice(0, 10).every((c) => c === 'UNAUTHENTICATED')).toBe(true);
    expect(codes[10]).toBe('RATE_LIMITED');
    expect(results[10]?.errors?.[0]?.message).toBe('Too many attempts; try again later');
  });

  it('a burst of correct logins never locks the account (successes give their ticket back)', async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => attempt(ADMIN.email, ADMIN.password, `100.64.0.${i + 1}`)),
    );
    const codes = results.map((r) => r.errors?.[0]?.extensions?.code ?? 'OK');
    // At most 10 attempts per account are checked at once; the rest are asked to retry, none fail.
    expect(codes.filter((c) => c === 'OK').length).toBeGreaterThanOrEqual(10);
    expect(codes.every((c) => c === 'OK' || c === 'RATE_LIMITED')).toBe(true);
    const after = await attempt(ADMIN.email, ADMIN.password, '100.64.1.1');
    expect(after.errors).toBeUndefined();
  });

  it('throttles one client address trying many accounts', async () => {
    const codes = [];
    for (let i = 0; i < 21; i += 1) {
      const result = await attempt(`spray${i}@a.example`, 'Password spraying!', '203.0.113.99');
      codes.push(result.errors?.[0]?.extensions?.code);
    }
    expect(codes.slice(0, 20).every((c) => c === 'UNAUTHENTICATED')).toBe(true);
    expect(codes[20]).toBe('RATE_LIMITED');
  });
});

/** The victim is the only account registered through the API in this file. */
async function victimId(adminToken: string): Promise<string> {
  const events = await gql<{ auditEvents: { events: { userId: string }[] } }>(
    platform.gatewayUrl,
    '{ auditEvents(type: "user.registered", first: 5) { events { userId } } }',
    { token: adminToken },
  );
  return events.data?.auditEvents.events[0]?.userId as string;
}
