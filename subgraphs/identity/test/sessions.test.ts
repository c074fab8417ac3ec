// Sessions and the tokens identity issues (the auth and sessions modules) on the subgraph harness: the access
// token's shape and its organization (roles and scopes from organization's memberships), switching
// organization, refresh-token rotation with a grace window and reuse detection, logout, listing and revoking
// sessions, changing the password. Ending a session marks it revoked in the shared store: that entry is what the
// gateway refuses access tokens by (the refusal itself is a journey in platform/test).
import { randomUUID } from 'node:crypto';

import { revokedSessionKey, scopesForRoles } from '@g3d/auth';
import { seedFirstAdmin } from '@g3d/identity';
import {
  ACCEPT_INVITATION,
  type AuthTokens,
  caller,
  CHANGE_MEMBER_ROLES,
  CHANGE_PASSWORD,
  CREATE_ORGANIZATION,
  decodeClaims,
  type Harness,
  INVITE_MEMBER,
  LOGOUT,
  mailedToken,
  ME,
  MY_SESSIONS,
  ok,
  REFRESH_TOKENS,
  registerAndSignIn,
  registerAndVerify,
  REVOKE_OTHER_SESSIONS,
  REVOKE_SESSION,
  run,
  type Session,
  session as sessionOf,
  signIn,
  type SubgraphClient,
  SWITCH_ORGANIZATION,
} from '@g3d/testkit';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  call,
  expectCoercionError,
  expectError,
  expectValidationError,
  GOOD_PASSWORD,
  KB10,
  OTHER_GOOD_PASSWORD,
  sleep,
  startIdentity,
} from './support.ts';

const ADMIN = { email: 'alice@a.example', password: 'correct horse battery staple' };
const BOB = { email: 'bob@b.example', password: 'violet kettle orbit 2931' };
const CAROL = { email: 'carol@c.example', password: 'amber lantern quartz 8462' };
/** Short, so that reuse past the window is tested within the file's run time. */
const REFRESH_GRACE_SECONDS = 3;

let harness: Harness;
let anonymous: SubgraphClient;
let admin: Session;

// Refresh-token reuse past the grace window needs the window to pass: the first rotation happens here, and the
// check is the file's last test, so the wait overlaps the rest of the file.
let reuse: { original: Session; rotated: AuthTokens; rotatedAt: number };

beforeAll(async () => {
  harness = await startIdentity({ REFRESH_GRACE_SECONDS: String(REFRESH_GRACE_SECONDS) });
  anonymous = harness.as();
  await seedFirstAdmin(harness.db, ADMIN);
  admin = await signIn(harness, ADMIN.email, ADMIN.password);
  const original = await signIn(harness, ADMIN.email, ADMIN.password);
  const rotated = await ok(anonymous, REFRESH_TOKENS, { refreshToken: original.refreshToken });
  reuse = { original, rotated: rotated.refreshTokens, rotatedAt: Date.now() };
  await registerAndVerify(harness, BOB.email, BOB.password);
  await registerAndVerify(harness, CAROL.email, CAROL.password);
});
afterAll(() => harness?.close());

const refresh = (refreshToken: string, as: SubgraphClient = anonymous) => run(as, REFRESH_TOKENS, { refreshToken });

/** The session is marked revoked in the store the gateway reads. */
const isRevoked = async (sessionId: string) => (await harness.store.get(revokedSessionKey(sessionId))) !== null;

/** A GraphQL-level failure of one operation. */
function expectFailure(
  response: { status: number; data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] },
  code: string,
  message?: string,
) {
  expect(response.status).toBe(200);
  expect(response.data ?? null).toBeNull();
  expect(response.errors?.[0]?.extensions?.code).toBe(code);
  if (message) expect(response.errors?.[0]?.message).toBe(message);
}

/** `me` as the holder of `accessToken` (verified against identity's keys, like the gateway does). */
async function expectMe(accessToken: string, user: { id: string; email: string }) {
  const me = await ok(await harness.withToken(accessToken), ME);
  expect({ id: me.me?.id, email: me.me?.email }).toEqual(user);
}

describe('access tokens', () => {
  it('are issued in the documented shape, signed with the key identity publishes', async () => {
    expect(admin.tokenType).toBe('Bearer');
    expect(admin.expiresIn).toBe(900);
    expect(admin.user.email).toBe(ADMIN.email);
    const jwks = (await (await fetch(`${harness.urls.identity}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[];
    };
    expect(decodeProtectedHeader(admin.accessToken)).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: jwks.keys[0]?.kid });
    const claims = decodeClaims(admin.accessToken);
    expect(claims).toMatchObject({ iss: 'g3d-identity', aud: 'g3d-platform', sub: admin.user.id });
    expect(claims.exp).toBe((claims.iat as number) + 900);
    expect(typeof claims.sid).toBe('string');
    expect(typeof claims.jti).toBe('string');
    await expectMe(admin.accessToken, admin.user);
  });
});

describe('the current organization in the token', () => {
  let alice: Session;
  let joe: Session;
  let orgA: string;
  let orgA2: string;

  /** alice invites `who` into `organizationId` with `roles`; they accept with the mailed token. */
  async function invite(organizationId: string, who: Session, roles: string[]) {
    const owner = await alice.on('organization');
    await ok(owner, INVITE_MEMBER, { input: { organizationId, email: who.user.email, roles } });
    const token = await mailedToken(harness, who.user.email, 'invitation');
    await ok(await who.on('organization'), ACCEPT_INVITATION, { token });
  }

  beforeAll(async () => {
    [alice, joe] = await Promise.all([
      registerAndSignIn(harness, 'alice.owner@a.example'),
      registerAndSignIn(harness, 'joe@a.example'),
    ]);
    const owner = await alice.on('organization');
    orgA = (await ok(owner, CREATE_ORGANIZATION, { input: { name: 'A', slug: 'org-a' } })).createOrganization.id;
    orgA2 = (await ok(owner, CREATE_ORGANIZATION, { input: { name: 'A2', slug: 'org-a2' } })).createOrganization.id;
    await invite(orgA, joe, ['developer']);
    await invite(orgA2, joe, ['analyst']);
  });

  it('login picks the first organization; the token carries its roles and their scopes (RBAC model)', async () => {
    joe = await signIn(harness, 'joe@a.example');
    const claims = decodeClaims(joe.accessToken);
    expect(claims.org).toBe(orgA);
    expect(claims.roles).toEqual(expect.arrayContaining(['user', 'developer']));
    expect((claims.scope as string).split(' ')).toEqual(scopesForRoles(['developer']));
    expect(claims.scope).toContain('code:read');
    expect(claims.email).toBe('joe@a.example');
  });

  it('switching issues a token for the other organization (its scopes only); refresh keeps it', async () => {
    const switched = await ok(joe.client, SWITCH_ORGANIZATION, { organizationId: orgA2 });
    expect(switched.switchOrganization).toMatchObject({ organizationId: orgA2, tokenType: 'Bearer', expiresIn: 900 });
    const claims = decodeClaims(switched.switchOrganization.accessToken);
    expect(claims.org).toBe(orgA2);
    expect(claims.sid).toBe(joe.sessionId);
    expect((claims.scope as string).split(' ')).toEqual(scopesForRoles(['analyst']));
    const refreshed = await ok(anonymous, REFRESH_TOKENS, { refreshToken: joe.refreshToken });
    expect(decodeClaims(refreshed.refreshTokens.accessToken).org).toBe(orgA2);
    joe = await sessionOf(harness, refreshed.refreshTokens);
    const back = await ok(joe.client, SWITCH_ORGANIZATION, { organizationId: orgA });
    expect(decodeClaims(back.switchOrganization.accessToken).org).toBe(orgA);
  });

  it('refuses switching to an organization the user is not in, and garbage ids, as NOT_FOUND', async () => {
    const stranger = await registerAndSignIn(harness, 'stranger@s.example');
    for (const organizationId of [orgA, 'not-a-uuid', '00000000-0000-4000-8000-000000000000']) {
      expect(
        (await run(stranger.client, SWITCH_ORGANIZATION, { organizationId })).errors?.[0]?.extensions?.code,
        organizationId,
      ).toBe('NOT_FOUND');
    }
    expectFailure(await run(anonymous, SWITCH_ORGANIZATION, { organizationId: orgA }), 'UNAUTHENTICATED');
  });

  it('a refresh after a role change carries the new roles and scopes', async () => {
    const owner = await alice.on('organization');
    await ok(owner, CHANGE_MEMBER_ROLES, { organizationId: orgA, userId: joe.userId, roles: ['analyst'] });
    const demoted = await ok(anonymous, REFRESH_TOKENS, { refreshToken: joe.refreshToken });
    expect(decodeClaims(demoted.refreshTokens.accessToken).scope).not.toContain('code:read');
    await ok(owner, CHANGE_MEMBER_ROLES, { organizationId: orgA, userId: joe.userId, roles: ['developer'] });
    const restored = await ok(anonymous, REFRESH_TOKENS, { refreshToken: demoted.refreshTokens.refreshToken });
    expect(decodeClaims(restored.refreshTokens.accessToken).scope).toContain('code:read');
    joe = await sessionOf(harness, restored.refreshTokens);
  });
});

describe('refresh tokens', () => {
  it('rotate: new tokens for the same session; within the grace window the old one still gets fresh tokens', async () => {
    const first = await signIn(harness, ADMIN.email, ADMIN.password);
    const result = await refresh(first.refreshToken);
    expect(result.errors).toBeUndefined();
    const next = result.data?.refreshTokens as AuthTokens;
    expect(next.user).toEqual(admin.user);
    expect(next.tokenType).toBe('Bearer');
    expect(next.expiresIn).toBe(900);
    expect(next.refreshExpiresIn).toBeGreaterThan(0);
    expect(next.refreshToken).not.toBe(first.refreshToken);
    expect(next.accessToken).not.toBe(first.accessToken);
    expect(decodeClaims(next.accessToken).sid).toBe(first.sessionId);
    // Within the grace window the rotated token still gets fresh tokens (two tabs refreshing at once).
    const again = await refresh(first.refreshToken);
    expect(again.errors).toBeUndefined();
    const concurrent = again.data?.refreshTokens as AuthTokens;
    expect(concurrent.refreshToken).not.toBe(next.refreshToken);
    expect(decodeClaims(concurrent.accessToken).sid).toBe(first.sessionId);
    await expectMe(next.accessToken, admin.user);
    await expectMe(concurrent.accessToken, admin.user);
    // The newest token keeps working.
    expect((await refresh(next.refreshToken)).errors).toBeUndefined();
  });

  it('refuses unknown, malformed and foreign refresh tokens without a 500', async () => {
    expectFailure(await refresh(`rt_${randomUUID()}`), 'UNAUTHENTICATED', 'Invalid or expired refresh token');
    expectFailure(await refresh(randomUUID()), 'UNAUTHENTICATED', 'Invalid or expired refresh token');
    expectError(await refresh(''), 'BAD_USER_INPUT', 'refreshToken');
    expectError(await refresh(KB10), 'BAD_USER_INPUT', 'refreshToken');
    for (const t of ['rt_random', 'rt_\u0000', 'rt_\u0000\n', '\ud800', `rt_${'A'.repeat(250)}`]) {
      expectError(await refresh(t), 'UNAUTHENTICATED');
    }
    // An access token is not a refresh token (a JWT is longer than any refresh token: refused by its length).
    const access = await refresh(admin.accessToken);
    expect(['BAD_USER_INPUT', 'UNAUTHENTICATED']).toContain(access.errors?.[0]?.extensions?.code);
    expect(access.data ?? null).toBeNull();
    expectCoercionError(await call(anonymous, REFRESH_TOKENS.document, { refreshToken: 5 }));
    expectCoercionError(await call(anonymous, REFRESH_TOKENS.document, {}));
  });

  it("presented by another signed-in user, rotates the token owner's session only", async () => {
    const bob = await signIn(harness, BOB.email, BOB.password);
    expect(bob.userId).not.toBe(admin.userId);
    const mine = await signIn(harness, ADMIN.email, ADMIN.password);
    const result = await refresh(bob.refreshToken, mine.client);
    expect(result.errors).toBeUndefined();
    const rotated = result.data?.refreshTokens as AuthTokens;
    expect(rotated.user).toEqual({ id: bob.userId, email: BOB.email });
    expect(decodeClaims(rotated.accessToken)).toMatchObject({ sub: bob.userId, sid: bob.sessionId });
    await expectMe(rotated.accessToken, { id: bob.userId, email: BOB.email });
    // The admin's session is untouched: still current, not revoked, and its refresh token works.
    const sessions = await ok(mine.client, MY_SESSIONS);
    expect(sessions.mySessions.find((s) => s.current)?.id).toBe(mine.sessionId);
    expect(await isRevoked(mine.sessionId)).toBe(false);
    const adminRefresh = await refresh(mine.refreshToken);
    expect(adminRefresh.data?.refreshTokens.user).toEqual(admin.user);
  });
});

describe('logout', () => {
  it('ends the session once: revoked for the gateway, the refresh token refused, other sessions untouched', async () => {
    const session = await signIn(harness, ADMIN.email, ADMIN.password);
    expect(await isRevoked(session.sessionId)).toBe(false);
    expect(await ok(session.client, LOGOUT)).toEqual({ logout: true });
    expect(await isRevoked(session.sessionId)).toBe(true);
    expectFailure(await refresh(session.refreshToken), 'UNAUTHENTICATED', 'Invalid or expired refresh token');
    // A second logout of the same session ends nothing (the gateway refuses its token before it gets here).
    expect(await ok(session.client, LOGOUT)).toEqual({ logout: false });
    // Other sessions of the same user are not affected.
    expect(await isRevoked(admin.sessionId)).toBe(false);
    const mine = await ok(admin.client, MY_SESSIONS);
    expect(mine.mySessions.map((s) => s.id)).not.toContain(session.sessionId);
    expect(mine.mySessions.map((s) => s.id)).toContain(admin.sessionId);
  });

  it('needs a signed-in caller', async () => {
    expectFailure(await run(anonymous, LOGOUT), 'UNAUTHENTICATED');
  });

  it('logout and revokeOtherSessions refuse unknown arguments at validation (HTTP 400)', async () => {
    for (const query of ['mutation { logout(everywhere: true) }', 'mutation { revokeOtherSessions(keep: "x") }']) {
      expectValidationError(await call(admin.client, query));
    }
  });
});

describe('sessions', () => {
  it('lists, revokes one, refuses foreign or invalid ids, revokes the others', async () => {
    const first = await signIn(harness, CAROL.email, CAROL.password);
    const second = await signIn(harness, CAROL.email, CAROL.password);
    const carol = first.user;
    expect(carol.email).toBe(CAROL.email);

    const listed = await run(first.client, MY_SESSIONS);
    expect(listed.errors).toBeUndefined();
    const sessions = listed.data?.mySessions ?? [];
    expect(sessions.map((s) => s.id).sort()).toEqual([first.sessionId, second.sessionId].sort());
    expect(sessions.filter((s) => s.current).map((s) => s.id)).toEqual([first.sessionId]);
    // Seen from the other session, the other one is current.
    const fromSecond = await ok(second.client, MY_SESSIONS);
    expect(fromSecond.mySessions.filter((s) => s.current).map((s) => s.id)).toEqual([second.sessionId]);

    expect(await ok(first.client, REVOKE_SESSION, { id: second.sessionId })).toEqual({ revokeSession: true });
    expect(await isRevoked(second.sessionId)).toBe(true);
    expectFailure(await refresh(second.refreshToken), 'UNAUTHENTICATED');
    expect(await isRevoked(first.sessionId)).toBe(false);
    await expectMe(first.accessToken, carol);
    expect((await ok(first.client, MY_SESSIONS)).mySessions).toEqual([{ id: first.sessionId, current: true }]);

    const invalidIds = [
      admin.sessionId, // another user's live session
      second.sessionId, // already revoked
      randomUUID(),
      'not-a-uuid',
      '',
      'x'.repeat(10 * 1024),
    ];
    for (const id of invalidIds) {
      expectFailure(await run(first.client, REVOKE_SESSION, { id }), 'BAD_USER_INPUT', 'No such session');
    }
    // The admin's session survived carol's attempt.
    expect(await isRevoked(admin.sessionId)).toBe(false);

    const others = [
      await signIn(harness, CAROL.email, CAROL.password),
      await signIn(harness, CAROL.email, CAROL.password),
    ];
    expect(await ok(first.client, REVOKE_OTHER_SESSIONS)).toEqual({ revokeOtherSessions: 2 });
    for (const other of others) {
      expect(await isRevoked(other.sessionId)).toBe(true);
      expectFailure(await refresh(other.refreshToken), 'UNAUTHENTICATED');
    }
    expect(await isRevoked(first.sessionId)).toBe(false);
    expect((await refresh(first.refreshToken)).errors).toBeUndefined();
    expect(await ok(first.client, REVOKE_OTHER_SESSIONS)).toEqual({ revokeOtherSessions: 0 });
  });

  it('revokeSession: malformed, unknown and foreign ids are BAD_USER_INPUT on id', async () => {
    const user = await registerAndSignIn(harness, 'hostile.sessions@hostile.example', GOOD_PASSWORD);
    for (const id of [
      '',
      KB10,
      'a\u0000b',
      'not-a-uuid',
      "' OR 1=1 --",
      '00000000-0000-0000-0000-000000000000',
      admin.sessionId,
    ]) {
      expectError(await call(user.client, REVOKE_SESSION.document, { id }), 'BAD_USER_INPUT', 'id');
    }
    expectCoercionError(await call(user.client, REVOKE_SESSION.document, { id: { $ne: null } }));
    expectCoercionError(await call(user.client, REVOKE_SESSION.document, { id: true }));
    // The admin's session survived.
    expect(await isRevoked(admin.sessionId)).toBe(false);
    expect((await ok(admin.client, MY_SESSIONS)).mySessions.map((s) => s.id)).toContain(admin.sessionId);
  });

  it('need a signed-in person: anonymous callers are UNAUTHENTICATED, API keys FORBIDDEN', async () => {
    expectFailure(await run(anonymous, MY_SESSIONS), 'UNAUTHENTICATED');
    expectFailure(await run(anonymous, REVOKE_SESSION, { id: randomUUID() }), 'UNAUTHENTICATED');
    expectFailure(await run(anonymous, REVOKE_OTHER_SESSIONS), 'UNAUTHENTICATED');
    const key = harness.as(caller({ kind: 'apiKey', userId: admin.userId }));
    for (const result of [
      await run(key, MY_SESSIONS),
      await run(key, REVOKE_OTHER_SESSIONS),
      await run(key, LOGOUT),
      await run(key, CHANGE_PASSWORD, { input: { currentPassword: ADMIN.password, newPassword: OTHER_GOOD_PASSWORD } }),
    ]) {
      expectFailure(result, 'FORBIDDEN');
    }
    expect(await isRevoked(admin.sessionId)).toBe(false);
  });
});

describe('changePassword', () => {
  it('wrong or hostile current password is FORBIDDEN, a weak new one BAD_USER_INPUT, no change', async () => {
    const email = 'change.password@hostile.example';
    const user = await registerAndSignIn(harness, email, GOOD_PASSWORD);
    const forbiddenCurrent = ['', 'wrong password', KB10, 'x'.repeat(200_000), 'a\u0000b'];
    for (const currentPassword of forbiddenCurrent) {
      expectError(
        await call(user.client, CHANGE_PASSWORD.document, {
          input: { currentPassword, newPassword: OTHER_GOOD_PASSWORD },
        }),
        'FORBIDDEN',
      );
    }
    for (const newPassword of ['', 'short1', 'password1', 'p'.repeat(257), KB10, 'new passphrase\u0000x', email]) {
      expectError(
        await call(user.client, CHANGE_PASSWORD.document, { input: { currentPassword: GOOD_PASSWORD, newPassword } }),
        'BAD_USER_INPUT',
        'newPassword',
      );
    }
    expectCoercionError(
      await call(user.client, CHANGE_PASSWORD.document, {
        input: { currentPassword: GOOD_PASSWORD, newPassword: OTHER_GOOD_PASSWORD, endOtherSessions: 'yes' },
      }),
    );
    expectCoercionError(
      await call(user.client, CHANGE_PASSWORD.document, { input: { currentPassword: GOOD_PASSWORD } }),
    );
    expectFailure(
      await run(anonymous, CHANGE_PASSWORD, { input: { currentPassword: 'x', newPassword: GOOD_PASSWORD } }),
      'UNAUTHENTICATED',
    );
    // Nothing changed, and the session is still alive.
    await signIn(harness, email, GOOD_PASSWORD);
    expect(await isRevoked(user.sessionId)).toBe(false);
    expect((await refresh(user.refreshToken)).errors).toBeUndefined();
  });
});

// Last in the file: see `reuse` above.
describe('refresh token reuse past the grace window', () => {
  it('ends the whole session: revoked, the newest refresh token refused, other sessions live on', async () => {
    const { original, rotated, rotatedAt } = reuse;
    await expectMe(rotated.accessToken, admin.user);
    await sleep(Math.max(0, rotatedAt + REFRESH_GRACE_SECONDS * 1000 + 500 - Date.now()));
    expect(await isRevoked(original.sessionId)).toBe(false);

    const replayed = await refresh(original.refreshToken);
    expectFailure(replayed, 'UNAUTHENTICATED', 'Refresh token reuse detected; the session has been ended');
    expect(await isRevoked(original.sessionId)).toBe(true);
    expectFailure(await refresh(rotated.refreshToken), 'UNAUTHENTICATED', 'Invalid or expired refresh token');
    // Other sessions of the same user live on.
    expect(await isRevoked(admin.sessionId)).toBe(false);
    expect((await ok(admin.client, MY_SESSIONS)).mySessions.map((s) => s.id)).not.toContain(original.sessionId);
  }, 30_000);
});
