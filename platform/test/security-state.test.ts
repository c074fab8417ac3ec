// Security state outlives the store: revocations, authorization changes and locks are recorded in PostgreSQL, and a
// store that comes back empty (FLUSHDB, a Redis restart without persistence, the in-process store after
// `npm start` is restarted) is refilled from there before the gateway decides anything from it — meanwhile it
// refuses (503), never lets a revoked token through.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  DEFAULT_PASSWORD,
  gql,
  invitationToken,
  registerClient,
  startTestPlatform,
  type TestClient,
  type TestPlatform,
} from './helpers.ts';

let platform: TestPlatform;
const url = () => platform.gatewayUrl;

/** Polls `query` until `done` says its answer settled (the store is refilled within about a second). */
async function settle<T>(run: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await run();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const ME = '{ me { id } }';

const loginAs = (email: string, password: string) =>
  gql(url(), 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }', {
    variables: { i: { email, password } },
  });

describe('security state after the store is emptied', () => {
  let owner: TestClient;
  let member: TestClient;
  let loggedOut: string;
  let memberOldToken: string;
  let organizationId: string;

  beforeAll(async () => {
    platform = await startTestPlatform();
    owner = await registerClient(url(), 'olga.owner@s.example');
    member = await registerClient(url(), 'max.member@s.example');
    const created = await gql<{ createOrganization: { id: string } }>(
      url(),
      'mutation { createOrganization(input: { name: "Sec", slug: "sec-state" }) { id } }',
      { token: owner },
    );
    organizationId = created.data?.createOrganization.id as string;
    await gql(url(), 'mutation($i: InviteMemberInput!) { inviteMember(input: $i) { id } }', {
      token: owner,
      variables: { i: { organizationId, email: 'max.member@s.example', roles: ['developer'] } },
    });
    const token = await invitationToken(url(), 'max.member@s.example');
    await gql(url(), 'mutation($t: String!) { acceptInvitation(token: $t) { roles } }', {
      token: member,
      variables: { t: token },
    });
    await member.refresh();
    await gql(url(), 'mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken } }', {
      token: member,
      variables: { o: organizationId },
    });

    // A session that logs out: its access token must stay refused.
    const leaving = await registerClient(url(), 'lea.leaving@s.example');
    loggedOut = leaving.accessToken;
    expect((await gql(url(), 'mutation { logout }', { token: loggedOut })).data).toEqual({ logout: true });
    // A member removed from the organization: the token issued before must stay refused.
    const switched = await gql<{ switchOrganization: { accessToken: string } }>(
      url(),
      'mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken } }',
      { token: member.accessToken, variables: { o: organizationId } },
    );
    memberOldToken = switched.data?.switchOrganization.accessToken as string;
    // An account locked by wrong passwords: the lock must hold.
    await registerClient(url(), 'lou.locked@s.example');
    for (let i = 0; i < 10; i += 1) await loginAs('lou.locked@s.example', 'wrong password guess');
    expect((await loginAs('lou.locked@s.example', DEFAULT_PASSWORD)).errors?.[0]?.extensions?.code).toBe(
      'RATE_LIMITED',
    );
    const removed = await gql(url(), 'mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }', {
      token: owner,
      variables: { o: organizationId, u: (member.claims().sub as string) ?? '' },
    });
    expect(removed.errors).toBeUndefined();
  }, 120_000);
  afterAll(() => platform?.close());

  it('before: the logged-out token and the removed member’s old token are refused', async () => {
    expect((await gql(url(), ME, { token: loggedOut })).status).toBe(401);
    const stale = await gql(url(), ME, { token: memberOldToken });
    expect(stale.errors?.[0]?.extensions?.reason).toBe('AUTHORIZATION_CHANGED');
  });

  it('after a flush: never let through while being refilled, then refused as before', async () => {
    await platform.store.flush();
    // Right after the flush: either refused as before or, while the owners refill it, 503 — never a 200.
    const during = await gql(url(), ME, { token: loggedOut });
    expect([401, 503]).toContain(during.status);
    const after = await settle(
      () => gql(url(), ME, { token: loggedOut }),
      (r) => r.status !== 503,
    );
    expect(after.status).toBe(401);
    expect(after.errors?.[0]?.message).toBe('Session revoked');
    const stale = await gql(url(), ME, { token: memberOldToken });
    expect(stale.errors?.[0]?.extensions?.reason).toBe('AUTHORIZATION_CHANGED');
    // The account lock holds: the right password is still refused.
    expect((await loginAs('lou.locked@s.example', DEFAULT_PASSWORD)).errors?.[0]?.extensions?.code).toBe(
      'RATE_LIMITED',
    );
    // Valid tokens work again.
    expect((await gql(url(), ME, { token: owner.accessToken })).status).toBe(200);
  });

  it('after a restart on an empty store (the embedded default): still refused', async () => {
    await platform.stop();
    // The in-process store is new and empty; with Redis, make it so.
    platform = await startTestPlatform({}, { reuse: platform });
    await platform.store.flush();
    const after = await settle(
      () => gql(url(), ME, { token: loggedOut }),
      (r) => r.status !== 503,
    );
    expect(after.status).toBe(401);
    expect((await gql(url(), ME, { token: memberOldToken })).errors?.[0]?.extensions?.reason).toBe(
      'AUTHORIZATION_CHANGED',
    );
  });
});
