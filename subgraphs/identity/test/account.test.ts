// The account as its owner manages it, on the subgraph harness: profile, preferences and consent (hostile input
// changes nothing), API keys (never more than the owner holds now; what identity answers the gateway for a key),
// the GDPR export and erasure, and the security audit log (append-only, everyone's events for platform
// administrators only).
import { revokedApiKeyKey, revokedSessionKey, scopesForRoles } from '@g3d/auth';
import { generateTotp } from '@g3d/identity';
import {
  ACCEPT_INVITATION,
  AUDIT_EVENTS,
  BEGIN_MFA_ENROLLMENT,
  caller,
  CHANGE_MEMBER_ROLES,
  CONFIRM_MFA_ENROLLMENT,
  CREATE_API_KEY,
  CREATE_ORGANIZATION,
  ERASE_MY_ACCOUNT,
  type Harness,
  INVITE_MEMBER,
  LOGIN,
  mailedToken,
  MY_DATA_EXPORT,
  ok,
  outbox,
  platformAdmin,
  REGISTER,
  registerAndSignIn,
  registerAndVerify,
  registration,
  REVOKE_API_KEY,
  run,
  type Session,
  signIn,
  type SubgraphClient,
} from '@g3d/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { call, expectCoercionError, expectError, GOOD_PASSWORD, KB10, startIdentity } from './support.ts';

let harness: Harness;
let anonymous: SubgraphClient;
beforeAll(async () => {
  harness = await startIdentity();
  anonymous = harness.as();
});
afterAll(() => harness?.close());

const UPDATE_PROFILE =
  'mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { firstName lastName displayName } }';
const UPDATE_PREFERENCES = `mutation($input: PreferencesInput!) {
  updatePreferences(input: $input) { preferences { theme language timezone privacy { dataRetentionDays } } } }`;
const UPDATE_CONSENT = 'mutation($input: ConsentInput!) { updateConsent(input: $input) { consent { gdprConsent } } }';
const ME = `{ me { id firstName lastName displayName emailVerified mfaEnabled
  preferences { theme language timezone privacy { dataRetentionDays } } consent { gdprConsent } } }`;

async function me(client: SubgraphClient) {
  const result = await call<{ me: Record<string, unknown> | null }>(client, ME);
  expect(result.errors).toBeUndefined();
  if (!result.data?.me) throw new Error('me is null');
  return result.data.me;
}

describe('profile, preferences and consent', () => {
  let user: Session;
  let client: SubgraphClient;
  beforeAll(async () => {
    const email = 'eve.mallory@hostile.example';
    await registerAndVerify(harness, email, GOOD_PASSWORD, { firstName: 'Eve', lastName: 'Mallory' });
    user = await signIn(harness, email, GOOD_PASSWORD);
    client = user.client;
  });

  it('updateProfile: oversized, control-character and empty names are BAD_USER_INPUT with no partial write', async () => {
    const before = await me(client);
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
      expectError(await call(client, UPDATE_PROFILE, { input }), 'BAD_USER_INPUT', field);
    }
    expectCoercionError(await call(client, UPDATE_PROFILE, { input: { firstName: 'Ok', lastName: 5 } }));
    expectCoercionError(await call(client, UPDATE_PROFILE, { input: { firstName: ['a'] } }));
    expect(await me(client)).toEqual(before);
    // Valid unicode is fine (NFKC-normalized and trimmed).
    const updated = await call(client, UPDATE_PROFILE, { input: { firstName: '  Zoë  ', lastName: 'Ørsted' } });
    expect(updated.data).toEqual({
      updateProfile: { firstName: 'Zoë', lastName: 'Ørsted', displayName: 'Eve Mallory' },
    });
  });

  it('updatePreferences: invalid language, time zone and retention are BAD_USER_INPUT with no partial write', async () => {
    const before = await me(client);
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
      expectError(await call(client, UPDATE_PREFERENCES, { input }), 'BAD_USER_INPUT', field);
    }
    expectCoercionError(await call(client, UPDATE_PREFERENCES, { input: { theme: 'PURPLE' } }));
    expectCoercionError(await call(client, UPDATE_PREFERENCES, { input: { language: 7 } }));
    expectCoercionError(await call(client, UPDATE_PREFERENCES, { input: { privacy: { dataRetentionDays: 2 ** 40 } } }));
    expectCoercionError(await call(client, UPDATE_PREFERENCES, { input: { privacy: { dataRetentionDays: 1.5 } } }));
    expectCoercionError(await call(client, UPDATE_PREFERENCES, { input: { notifications: { email: 'no' } } }));
    expect(await me(client)).toEqual(before);
    const updated = await call<{ updatePreferences: { preferences: Record<string, unknown> } }>(
      client,
      UPDATE_PREFERENCES,
      { input: { theme: 'DARK', language: 'pt-BR', timezone: 'Europe/Berlin', privacy: { dataRetentionDays: 3650 } } },
    );
    expect(updated.data?.updatePreferences.preferences).toEqual({
      theme: 'DARK',
      language: 'pt-BR',
      timezone: 'Europe/Berlin',
      privacy: { dataRetentionDays: 3650 },
    });
  });

  it('updateConsent: wrong types are coercion errors and change nothing', async () => {
    const before = await me(client);
    expectCoercionError(await call(client, UPDATE_CONSENT, { input: { gdprConsent: 'yes' } }));
    expectCoercionError(await call(client, UPDATE_CONSENT, { input: { ccpaOptOut: 0 } }));
    expectCoercionError(await call(client, UPDATE_CONSENT, { input: { gdprConsent: false, unknownField: true } }));
    expect(await me(client)).toEqual(before);
    expect((await call(client, UPDATE_CONSENT, { input: {} })).errors).toBeUndefined();
  });

  it('each needs a signed-in person: UNAUTHENTICATED for anonymous callers, FORBIDDEN for API keys', async () => {
    const key = harness.as(caller({ kind: 'apiKey', userId: user.userId }));
    const calls: [string, Record<string, unknown>][] = [
      [UPDATE_PROFILE, { input: { firstName: 'Anon' } }],
      [UPDATE_PREFERENCES, { input: { theme: 'DARK' } }],
      [UPDATE_CONSENT, { input: { gdprConsent: true } }],
    ];
    for (const [query, variables] of calls) {
      expectError(await call(anonymous, query, variables), 'UNAUTHENTICATED');
      expectError(await call(key, query, variables), 'FORBIDDEN');
    }
    expect((await me(client)).firstName).not.toBe('Anon');
  });
});

describe('API keys', () => {
  let kim: Session; // owner of the organization
  let lee: Session; // developer in it
  let organizationId: string;
  const verify = async (key: string) => harness.internal('/api-keys/verify', { key });

  beforeAll(async () => {
    [kim, lee] = await Promise.all([
      registerAndSignIn(harness, 'kim.owner@k.example'),
      registerAndSignIn(harness, 'lee.dev@k.example'),
    ]);
    const owner = await kim.on('organization');
    organizationId = (await ok(owner, CREATE_ORGANIZATION, { input: { name: 'K', slug: 'k-org' } })).createOrganization
      .id;
    await ok(owner, INVITE_MEMBER, { input: { organizationId, email: lee.user.email, roles: ['developer'] } });
    await ok(await lee.on('organization'), ACCEPT_INVITATION, {
      token: await mailedToken(harness, lee.user.email, 'invitation'),
    });
    lee = await signIn(harness, lee.user.email); // a token for the organization, with the developer's scopes
  });

  it('act with their own scopes, never more than the creator holds now', async () => {
    const created = (await ok(lee.client, CREATE_API_KEY, { input: { name: 'ci', scopes: ['code:read'] } }))
      .createApiKey;
    expect(created.secret).toMatch(new RegExp(`^g3d_${created.apiKey.prefix}_[A-Za-z0-9_-]{43}$`));
    expect(created.apiKey).toMatchObject({ name: 'ci', scopes: ['code:read'], revokedAt: null });
    // What identity tells the gateway the key stands for.
    expect(await verify(created.secret)).toEqual({
      status: 200,
      body: {
        valid: true,
        apiKeyId: created.apiKey.id,
        caller: expect.objectContaining({
          kind: 'apiKey',
          userId: lee.userId,
          sessionId: null,
          organizationId,
          roles: [],
          scopes: ['code:read'],
        }),
      },
    });
    // A scope the creator does not hold is refused.
    const tooMuch = await run(lee.client, CREATE_API_KEY, { input: { name: 'x', scopes: ['finance:read'] } });
    expect(tooMuch.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(scopesForRoles(['developer'])).not.toContain('finance:read');
    // lee loses the developer role: the key loses code:read at once; it comes back with the role.
    const owner = await kim.on('organization');
    await ok(owner, CHANGE_MEMBER_ROLES, { organizationId, userId: lee.userId, roles: ['analyst'] });
    expect(await verify(created.secret)).toMatchObject({ body: { valid: true, caller: { scopes: [] } } });
    await ok(owner, CHANGE_MEMBER_ROLES, { organizationId, userId: lee.userId, roles: ['developer'] });
    expect(await verify(created.secret)).toMatchObject({ body: { valid: true, caller: { scopes: ['code:read'] } } });
  });

  it('stop at once when revoked; a wrong secret is no key', async () => {
    const created = (await ok(lee.client, CREATE_API_KEY, { input: { name: 'short-lived' } })).createApiKey;
    expect((await verify(created.secret)).body).toMatchObject({ valid: true });
    expect((await verify(`${created.secret.slice(0, -4)}AAAA`)).body).toEqual({ valid: false });
    for (const garbage of ['', 'g3d_', KB10.slice(0, 256), `g3d_${created.apiKey.prefix}_\u0000`]) {
      expect((await verify(garbage)).body).toEqual({ valid: false });
    }
    expect(await harness.store.get(revokedApiKeyKey(created.apiKey.id))).toBeNull();
    const revoked = await ok(lee.client, REVOKE_API_KEY, { id: created.apiKey.id });
    expect(revoked.revokeApiKey.revokedAt).not.toBeNull();
    // The flag the gateway checks on every request (its verification cache notwithstanding).
    expect(await harness.store.get(revokedApiKeyKey(created.apiKey.id))).not.toBeNull();
    expect((await verify(created.secret)).body).toEqual({ valid: false });
    // Another user cannot revoke (or see) it.
    const other = await run(kim.client, REVOKE_API_KEY, { id: created.apiKey.id });
    expect(other.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
  });

  it('refuse hostile input, and callers that are not a signed-in person', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ name: '' }, 'name'],
      [{ name: KB10 }, 'name'],
      [{ name: 'bad\u0000name' }, 'name'],
      [{ name: 'ok', scopes: ['NOT A SCOPE'] }, 'scopes'],
      [{ name: 'ok', scopes: ['code:read\u0000'] }, 'scopes'],
      [{ name: 'ok', expiresAt: '2000-01-01T00:00:00.000Z' }, 'expiresAt'],
      [{ name: 'ok', expiresAt: new Date(Date.now() + 400 * 86_400_000).toISOString() }, 'expiresAt'],
    ];
    for (const [input, field] of cases) {
      expectError(await call(lee.client, CREATE_API_KEY.document, { input }), 'BAD_USER_INPUT', field);
    }
    expectCoercionError(await call(lee.client, CREATE_API_KEY.document, { input: { name: 'x', expiresAt: 'soon' } }));
    for (const id of ['', 'not-a-uuid', KB10, '00000000-0000-4000-8000-000000000000']) {
      expectError(await call(lee.client, REVOKE_API_KEY.document, { id }), 'BAD_USER_INPUT', 'id');
    }
    // An API key cannot manage keys (it is not a signed-in person); nor can anonymous callers.
    const key = harness.as(caller({ kind: 'apiKey', userId: lee.userId, organizationId, scopes: ['code:read'] }));
    expectError(await call(key, CREATE_API_KEY.document, { input: { name: 'more' } }), 'FORBIDDEN');
    expectError(await call(anonymous, CREATE_API_KEY.document, { input: { name: 'anon' } }), 'UNAUTHENTICATED');
  });
});

describe('GDPR export and erasure', () => {
  const EMAIL = 'erin.erased@e.example';

  it('exports the data without secrets, then erases the account: anonymized, signed out, unable to log in', async () => {
    const erin = await registerAndSignIn(harness, EMAIL, GOOD_PASSWORD);
    const { secret } = (await ok(erin.client, BEGIN_MFA_ENROLLMENT, { password: GOOD_PASSWORD })).beginMfaEnrollment;
    const { codes } = (await ok(erin.client, CONFIRM_MFA_ENROLLMENT, { code: await generateTotp({ secret }) }))
      .confirmMfaEnrollment;

    const exported = (await ok(erin.client, MY_DATA_EXPORT)).myDataExport;
    expect((exported.user as { email: string }).email).toBe(EMAIL);
    expect(JSON.stringify(exported)).not.toMatch(/argon2|passwordHash|mfaSecret|secretHash/);

    const ERASE = ERASE_MY_ACCOUNT.document;
    expectError(await call(erin.client, ERASE, { password: GOOD_PASSWORD }), 'FORBIDDEN');
    for (const p of ['wrong password', KB10, 'x'.repeat(200_000), 'a\u0000b']) {
      expectError(await call(erin.client, ERASE, { password: p, code: codes[0] }), 'FORBIDDEN');
    }
    expectError(await call(erin.client, ERASE, { password: GOOD_PASSWORD, code: '000000' }), 'FORBIDDEN');
    expectError(await call(anonymous, ERASE, { password: GOOD_PASSWORD, code: codes[0] }), 'UNAUTHENTICATED');
    expect((await call(erin.client, ERASE, { password: GOOD_PASSWORD, code: codes[0] })).data).toEqual({
      eraseMyAccount: true,
    });

    // Signed out (the session is revoked for the gateway), unable to log in, the mail gone.
    expect(await harness.store.get(revokedSessionKey(erin.sessionId))).not.toBeNull();
    const login = await run(anonymous, LOGIN, { input: { email: EMAIL, password: GOOD_PASSWORD } });
    expect(login.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await outbox(harness, EMAIL)).toEqual([]);
    // The address is free again: registering it creates a new account (a new verification mail).
    await ok(anonymous, REGISTER, { input: registration(EMAIL, { gdprConsent: false }) });
    expect((await outbox(harness, EMAIL)).map((m) => m.kind)).toEqual(['verify_email']);
  });
});

describe('the security audit log', () => {
  it('is readable in full by platform administrators only', async () => {
    const user = await registerAndSignIn(harness, 'auditor@a.example');
    const all = await run(harness.as(platformAdmin()), AUDIT_EVENTS, { type: 'user.registered', first: 200 });
    expect(all.data?.auditEvents.events.map((e) => e.userId)).toContain(user.userId);
    expect((await run(user.client, AUDIT_EVENTS, { first: 10 })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await run(anonymous, AUDIT_EVENTS, { first: 10 })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(
      (await call(harness.as(platformAdmin()), 'query { auditEvents(first: 201) { events { type } } }')).errors?.[0]
        ?.extensions?.code,
    ).toBe('BAD_USER_INPUT');
  });

  it('refuses to update or delete audit events (append-only)', async () => {
    const { rows } = await harness.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM identity.audit_events`);
    expect(rows[0]?.n).toBeGreaterThan(0);
    await expect(harness.db.pool.query(`UPDATE identity.audit_events SET type = 'tampered'`)).rejects.toThrow(
      /append-only/,
    );
    await expect(harness.db.pool.query(`DELETE FROM identity.audit_events`)).rejects.toThrow(/append-only/);
    const after = await harness.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM identity.audit_events WHERE type = 'tampered'`,
    );
    expect(after.rows[0]?.n).toBe(0);
  });
});
