// Secret checks are throttled wherever they happen, through the gateway: the current password of a signed-in
// user (a stolen access token cannot be used to guess it), second-factor codes across MFA challenges (knowing the
// password does not buy unlimited codes), reset tokens checked before any hashing (anonymous callers cannot buy
// argon2 time), mail-sending requests per client IP (one budget for identity and organization), and smart
// lockout (failures from elsewhere do not lock the owner's familiar device out).
import { generateTotp, hashPassword } from '@g3d/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  assignPlan,
  DEFAULT_PASSWORD,
  devMailbox,
  gql,
  type GraphQLResponse,
  registerClient,
  startTestPlatform,
  type TestClient,
  type TestPlatform,
} from './helpers.ts';

let platform: TestPlatform;
const url = () => platform.gatewayUrl;
const code = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.code;
const reason = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.reason;
const retryAfter = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.retryAfterSeconds;
/** Requests "from" a client address: the gateway trusts one proxy hop (TRUST_PROXY_HOPS=1). */
const from = (ip: string) => ({ 'x-forwarded-for': ip });

const CHANGE_PASSWORD = 'mutation($i: ChangePasswordInput!) { changePassword(input: $i) }';
const BEGIN_MFA = 'mutation($p: String!) { beginMfaEnrollment(password: $p) { secret } }';
const CONFIRM_MFA = 'mutation($c: String!) { confirmMfaEnrollment(code: $c) { codes } }';
const REGENERATE = 'mutation($c: String!) { regenerateBackupCodes(code: $c) { codes } }';
const DISABLE_MFA = 'mutation($p: String!, $c: String!) { disableMfa(password: $p, code: $c) }';
const LOGIN = 'mutation($i: LoginInput!) { login(input: $i) { accessToken deviceToken } }';
const LOGIN_MFA = 'mutation($i: LoginWithMfaInput!) { loginWithMfa(input: $i) { accessToken deviceToken } }';
const RESET = 'mutation($i: ResetPasswordInput!) { resetPassword(input: $i) }';
const REQUEST_RESET = 'mutation($e: String!) { requestPasswordReset(email: $e) }';
const RESEND = 'mutation($e: String!) { resendVerification(email: $e) }';
const REGISTER = 'mutation($i: RegisterInput!) { register(input: $i) { message } }';
const CREATE_ORG = 'mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { id } }';
const INVITE = 'mutation($i: InviteMemberInput!) { inviteMember(input: $i) { id } }';
const RESEND_INVITATION = 'mutation($id: ID!) { resendInvitation(id: $id) { id } }';
const AUDIT = '{ myAuditEvents(first: 200) { events { type metadata } } }';

type AuditEvents = { myAuditEvents: { events: { type: string; metadata: Record<string, unknown> }[] } };

async function auditOf(client: TestClient | string) {
  const result = await gql<AuditEvents>(url(), AUDIT, { token: client });
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data.myAuditEvents.events;
}

async function mailKinds(to: string): Promise<string[]> {
  return (await devMailbox(url(), to)).map((m) => m.kind);
}

beforeAll(async () => {
  platform = await startTestPlatform({ TRUST_PROXY_HOPS: '1', LOGIN_IP_LIMIT: '100000' });
});
afterAll(() => platform?.close());

describe('the current password of a signed-in user', () => {
  it('100 wrong current passwords through changePassword: 5 are checked, then RATE_LIMITED, audited once', async () => {
    const holder = await registerClient(url(), 'stolen.token@throttle.example');
    const results: GraphQLResponse[] = [];
    for (let i = 0; i < 100; i++) {
      results.push(
        await gql(url(), CHANGE_PASSWORD, {
          token: holder,
          variables: { i: { currentPassword: `guess number ${i}`, newPassword: 'a brand new passphrase' } },
        }),
      );
    }
    const codes = results.map(code);
    expect(codes.slice(0, 5)).toEqual(Array(5).fill('FORBIDDEN'));
    expect(codes.slice(5)).toEqual(Array(95).fill('RATE_LIMITED'));
    const limited = results[99] as GraphQLResponse;
    expect(reason(limited)).toBe('PASSWORD_CHECK_LOCKED');
    expect(retryAfter(limited)).toBeGreaterThan(0);
    expect(retryAfter(limited)).toBeLessThanOrEqual(15 * 60);

    // Locked means locked: the right password is refused too, in every place that checks it.
    const right = await gql(url(), CHANGE_PASSWORD, {
      token: holder,
      variables: { i: { currentPassword: DEFAULT_PASSWORD, newPassword: 'a brand new passphrase' } },
    });
    expect(code(right)).toBe('RATE_LIMITED');
    expect(code(await gql(url(), BEGIN_MFA, { token: holder, variables: { p: DEFAULT_PASSWORD } }))).toBe(
      'RATE_LIMITED',
    );
    const erase = await gql(url(), 'mutation($p: String!) { eraseMyAccount(password: $p) }', {
      token: holder,
      variables: { p: DEFAULT_PASSWORD },
    });
    expect(code(erase)).toBe('RATE_LIMITED');

    const events = await auditOf(holder);
    expect(events.filter((e) => e.type === 'password.check_locked')).toHaveLength(1);
    expect(events.map((e) => e.type)).not.toContain('password.changed');
  });
});

describe('second-factor codes', () => {
  it('100 wrong TOTP codes across fresh challenges: 10 are checked, then the factor is locked — the right code too — the owner is mailed, the lock audited', async () => {
    const email = 'mfa.guessed@throttle.example';
    const owner = await registerClient(url(), email);
    const begun = await gql<{ beginMfaEnrollment: { secret: string } }>(url(), BEGIN_MFA, {
      token: owner,
      variables: { p: DEFAULT_PASSWORD },
    });
    const secret = begun.data?.beginMfaEnrollment.secret as string;
    const confirmed = await gql<{ confirmMfaEnrollment: { codes: string[] } }>(url(), CONFIRM_MFA, {
      token: owner,
      variables: { c: await generateTotp({ secret }) },
    });
    const backupCodes = confirmed.data?.confirmMfaEnrollment.codes as string[];
    expect(backupCodes).toHaveLength(10);

    /** A 6-digit code no time step within ±2 of now accepts. */
    const wrongCode = async (i: number) => {
      const now = Date.now();
      const valid = new Set(
        await Promise.all([-2, -1, 0, 1, 2].map((step) => generateTotp({ secret, now: now + step * 30_000 }))),
      );
      for (let n = i; ; n++) {
        const candidate = String(n % 1_000_000).padStart(6, '0');
        if (!valid.has(candidate)) return candidate;
      }
    };
    /** A fresh MFA challenge: the password is known to whoever is guessing. */
    const challenge = async () => {
      const login = await gql(url(), LOGIN, {
        variables: { i: { email, password: DEFAULT_PASSWORD } },
        headers: from('198.51.100.66'),
      });
      expect(code(login)).toBe('MFA_REQUIRED');
      return login.errors?.[0]?.extensions?.mfaToken as string;
    };

    const results: GraphQLResponse[] = [];
    let mfaToken = '';
    for (let i = 0; i < 100; i++) {
      // Each challenge allows 5 codes: whoever knows the password simply opens another.
      if (i % 5 === 0) mfaToken = await challenge();
      results.push(
        await gql(url(), LOGIN_MFA, {
          variables: { i: { mfaToken, code: await wrongCode(i * 7919) } },
          headers: from('198.51.100.66'),
        }),
      );
    }
    const codes = results.map(code);
    expect(codes.slice(0, 10)).toEqual(Array(10).fill('UNAUTHENTICATED'));
    expect(codes.slice(10)).toEqual(Array(90).fill('RATE_LIMITED'));
    expect(results.slice(10).every((r) => reason(r) === 'SECOND_FACTOR_LOCKED')).toBe(true);
    expect(retryAfter(results[99] as GraphQLResponse)).toBeGreaterThan(0);

    // The right code (of a time step not used yet) on a fresh challenge is refused too.
    const right = await gql(url(), LOGIN_MFA, {
      variables: { i: { mfaToken: await challenge(), code: await generateTotp({ secret, now: Date.now() + 30_000 }) } },
    });
    expect([code(right), reason(right)]).toEqual(['RATE_LIMITED', 'SECOND_FACTOR_LOCKED']);
    // So are valid backup codes, wherever a code is checked, and they are not spent.
    const regenerate = await gql(url(), REGENERATE, { token: owner, variables: { c: backupCodes[0] } });
    expect([code(regenerate), reason(regenerate)]).toEqual(['RATE_LIMITED', 'SECOND_FACTOR_LOCKED']);
    const disable = await gql(url(), DISABLE_MFA, {
      token: owner,
      variables: { p: DEFAULT_PASSWORD, c: backupCodes[0] },
    });
    expect([code(disable), reason(disable)]).toEqual(['RATE_LIMITED', 'SECOND_FACTOR_LOCKED']);

    // The owner is told (whoever guessed knows the password), and the lock is audited once.
    expect(await mailKinds(email)).toContain('mfa_locked');
    const events = await auditOf(owner);
    expect(events.filter((e) => e.type === 'mfa.locked')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'mfa.code_rejected')).toHaveLength(10);
    expect(events.map((e) => e.type)).not.toContain('mfa.backup_code_used');
  });
});

describe('password reset tokens', () => {
  it('an invalid token is refused before any hashing: it costs what an invalid verification token costs, not a hash more', async () => {
    // CPU of this whole process (gateway, subgraphs, the embedded database, argon2's threads).
    const cpuMs = async (work: () => Promise<void>) => {
      const start = process.cpuUsage();
      await work();
      const used = process.cpuUsage(start);
      return (used.user + used.system) / 1000;
    };
    const newPassword = 'a perfectly strong new passphrase';
    const VERIFY = 'mutation($t: String!) { verifyEmail(token: $t) }';
    const invalidReset = async (i: number) => {
      const result = await gql(url(), RESET, { variables: { i: { token: `never-issued-token-${i}`, newPassword } } });
      expect([code(result), result.errors?.[0]?.extensions?.field]).toEqual(['BAD_USER_INPUT', 'token']);
    };
    // The same path without any hashing at all: one token lookup, refused.
    const invalidVerification = async (i: number) => {
      const result = await gql(url(), VERIFY, { variables: { t: `never-issued-token-${i}` } });
      expect([code(result), result.errors?.[0]?.extensions?.field]).toEqual(['BAD_USER_INPUT', 'token']);
    };
    // Warm both paths (plans, prepared statements) and the hash.
    await invalidReset(-1);
    await invalidVerification(-1);
    await hashPassword(newPassword);

    let resets = 0;
    let verifications = 0;
    // Interleaved, so that background work and drift fall on both alike.
    for (let i = 0; i < 50; i++) {
      resets += await cpuMs(() => invalidReset(i));
      verifications += await cpuMs(() => invalidVerification(i));
    }
    const hashes = await cpuMs(async () => {
      for (let i = 0; i < 50; i++) await hashPassword(newPassword);
    });
    console.log(
      `CPU of 50 each: invalid resetPassword ${resets.toFixed(0)} ms, invalid verifyEmail ${verifications.toFixed(0)} ms, ` +
        `argon2 hashes ${hashes.toFixed(0)} ms`,
    );
    // Hashing before the token check (the old order) would add the 50 hashes to the resets.
    expect(resets - verifications).toBeLessThan(hashes * 0.35);
  });
});

describe('mail-sending requests per client IP', () => {
  it('of 35 concurrent reset requests from one address exactly 30 (MAIL_IP_LIMIT) are served', async () => {
    const results = await Promise.all(
      Array.from({ length: 35 }, (_, i) =>
        gql(url(), REQUEST_RESET, { variables: { e: `burst${i}@nobody.example` }, headers: from('192.0.2.35') }),
      ),
    );
    expect(results.filter((r) => r.data?.requestPasswordReset === true)).toHaveLength(30);
    const limited = results.filter((r) => code(r) === 'RATE_LIMITED');
    expect(limited).toHaveLength(5);
    expect(limited.every((r) => reason(r) === 'MAIL_IP_LIMIT')).toBe(true);
  });

  it('identity and organization share one budget: resets and invitations use it up, then every mail-sending request from that address is refused', async () => {
    const ip = '203.0.113.77';
    const owner = await registerClient(url(), 'owner.mail@throttle.example');
    const created = await gql<{ createOrganization: { id: string } }>(url(), CREATE_ORG, {
      token: owner,
      variables: { i: { name: 'Mailers', slug: 'mailers' } },
    });
    const organizationId = created.data?.createOrganization.id as string;
    await assignPlan(url(), organizationId); // seats for the ten invitations (free has 5)

    const resets = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        gql(url(), REQUEST_RESET, { variables: { e: `someone${i}@nobody.example` }, headers: from(ip) }),
      ),
    );
    expect(resets.every((r) => r.data?.requestPasswordReset === true)).toBe(true);
    const invitationIds: string[] = [];
    for (let i = 0; i < 10; i++) {
      const invited = await gql<{ inviteMember: { id: string } }>(url(), INVITE, {
        token: owner,
        variables: { i: { organizationId, email: `invitee${i}@mailers.example` } },
        headers: from(ip),
      });
      expect(invited.errors).toBeUndefined();
      invitationIds.push(invited.data?.inviteMember.id as string);
    }

    const refused = [
      await gql(url(), INVITE, {
        token: owner,
        variables: { i: { organizationId, email: 'one-more@mailers.example' } },
        headers: from(ip),
      }),
      await gql(url(), RESEND_INVITATION, { token: owner, variables: { id: invitationIds[0] }, headers: from(ip) }),
      await gql(url(), REQUEST_RESET, { variables: { e: 'owner.mail@throttle.example' }, headers: from(ip) }),
      await gql(url(), RESEND, { variables: { e: 'whoever@nobody.example' }, headers: from(ip) }),
      await gql(url(), REGISTER, {
        variables: {
          i: {
            email: 'new.person@nobody.example',
            password: DEFAULT_PASSWORD,
            firstName: 'New',
            lastName: 'Person',
            acceptTerms: true,
            acceptPrivacyPolicy: true,
            gdprConsent: true,
          },
        },
        headers: from(ip),
      }),
    ];
    for (const result of refused) {
      expect([code(result), reason(result)], JSON.stringify(result.errors)).toEqual(['RATE_LIMITED', 'MAIL_IP_LIMIT']);
      expect(retryAfter(result)).toBeGreaterThan(0);
      expect(retryAfter(result)).toBeLessThanOrEqual(3600);
    }
    // Nothing was sent for the refused requests.
    expect(await mailKinds('one-more@mailers.example')).toEqual([]);
    expect(await mailKinds('new.person@nobody.example')).toEqual([]);

    // Another address has its own budget.
    const elsewhere = await gql(url(), RESEND_INVITATION, {
      token: owner,
      variables: { id: invitationIds[0] },
      headers: from('203.0.113.78'),
    });
    expect(elsewhere.errors).toBeUndefined();
  });
});

describe('smart lockout', () => {
  const VICTIM = { email: 'victim.owner@throttle.example', password: DEFAULT_PASSWORD };
  const login = (password: string, ip: string, deviceToken?: string) =>
    gql<{ login: { accessToken: string; deviceToken: string } }>(url(), LOGIN, {
      variables: { i: { email: VICTIM.email, password, ...(deviceToken ? { deviceToken } : {}) } },
      headers: from(ip),
    });

  it('failures from elsewhere lock the account, but not against the owner’s familiar device; a familiar device’s own failures lock it', async () => {
    await registerClient(url(), VICTIM.email, VICTIM.password);
    // The owner's client signed in before: it holds a device token.
    const first = await login(VICTIM.password, '198.51.100.10');
    const deviceToken = first.data?.login.deviceToken as string;
    expect(deviceToken).toMatch(/^ey/);

    // Someone elsewhere locks the account: 10 wrong passwords without a device token.
    const attack = [];
    for (let i = 0; i < 10; i++) attack.push(await login(`wrong password ${i}`, '203.0.113.200'));
    expect(attack.map(code)).toEqual(Array(10).fill('UNAUTHENTICATED'));
    expect(code(await login(`wrong password 10`, '203.0.113.200'))).toBe('RATE_LIMITED');
    // The right password without a device token is refused, from anywhere, the owner's address included.
    expect(code(await login(VICTIM.password, '203.0.113.201'))).toBe('RATE_LIMITED');
    expect(code(await login(VICTIM.password, '198.51.100.10'))).toBe('RATE_LIMITED');
    // Another account's device token does not help.
    await registerClient(url(), 'someone.else@throttle.example');
    const foreign = await gql<{ login: { deviceToken: string } }>(url(), LOGIN, {
      variables: { i: { email: 'someone.else@throttle.example', password: DEFAULT_PASSWORD } },
    });
    expect(code(await login(VICTIM.password, '198.51.100.10', foreign.data?.login.deviceToken))).toBe('RATE_LIMITED');
    expect(code(await login(VICTIM.password, '198.51.100.10', 'not-a-device-token'))).toBe('RATE_LIMITED');

    // The owner's familiar device signs in.
    const owner = await login(VICTIM.password, '198.51.100.10', deviceToken);
    expect(owner.errors).toBeUndefined();
    expect(owner.data?.login.accessToken).toBeTruthy();
    const renewed = owner.data?.login.deviceToken as string;
    expect(renewed).toBeTruthy();

    // A familiar device's own failures count on their own and lock that device (even the right password).
    const fromDevice = [];
    for (let i = 0; i < 10; i++) fromDevice.push(await login(`typo ${i}`, '198.51.100.10', renewed));
    expect(fromDevice.map(code)).toEqual(Array(10).fill('UNAUTHENTICATED'));
    const lockedDevice = await login(VICTIM.password, '198.51.100.10', renewed);
    expect(code(lockedDevice)).toBe('RATE_LIMITED');
    expect(code(await login(VICTIM.password, '198.51.100.10', deviceToken))).toBe('RATE_LIMITED');

    // Which kind locked is audited: the account (unfamiliar clients), then the one familiar device.
    const locks = (await auditOf(owner.data?.login.accessToken as string)).filter((e) => e.type === 'login.locked');
    expect(locks.map((e) => e.metadata.lock).sort()).toEqual(['account', 'familiar_device']);
  });
});
