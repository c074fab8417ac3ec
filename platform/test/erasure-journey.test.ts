// An erased account leaves organizations cleanly: identity writes `identity.user-erased` into the platform event
// log in the erasure's transaction, and organization's consumer removes the user's memberships, revokes the
// invitations they issued, keeps every organization owned (or deletes one left without members), audits and
// announces it, exactly once. Until the event is delivered, co-members' queries still answer (the gone user is
// null, not the whole response).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  DEFAULT_PASSWORD,
  gql,
  type GraphQLResponse,
  invitationToken,
  registerClient,
  startTestPlatform,
  type TestClient,
  type TestPlatform,
} from './helpers.ts';

const ME_MEMBERS = '{ me { id organizations { id slug members { roles user { id displayName } } } } }';
const MEMBERS = 'query($o: ID!) { organization(id: $o) { members { roles user { id } } } }';
const AUDIT = 'query($o: ID!) { organization(id: $o) { auditLog { type actor { id } subject { id } } } }';
const ERASE = 'mutation($p: String!) { eraseMyAccount(password: $p) }';

type MeMembers = {
  me: {
    id: string;
    organizations: {
      id: string;
      slug: string;
      members: { roles: string[]; user: { id: string; displayName: string } | null }[];
    }[];
  } | null;
};

function ok<T>(result: GraphQLResponse<T>): T {
  if (!result.data || result.errors) throw new Error(JSON.stringify(result.errors ?? result));
  return result.data;
}

async function userId(url: string, client: TestClient): Promise<string> {
  return ok(await gql<{ me: { id: string } }>(url, '{ me { id } }', { token: client })).me.id;
}

async function createOrganization(url: string, owner: TestClient, slug: string): Promise<string> {
  const created = await gql<{ createOrganization: { id: string } }>(
    url,
    'mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { id } }',
    { token: owner, variables: { i: { name: slug, slug } } },
  );
  return ok(created).createOrganization.id;
}

async function invite(url: string, by: TestClient, organizationId: string, email: string, roles: string[]) {
  ok(
    await gql(url, 'mutation($i: InviteMemberInput!) { inviteMember(input: $i) { id } }', {
      token: by,
      variables: { i: { organizationId, email, roles } },
    }),
  );
}

/** `by` invites `email`, whose account accepts. */
async function join(
  url: string,
  by: TestClient,
  organizationId: string,
  email: string,
  member: TestClient,
  roles: string[],
) {
  await invite(url, by, organizationId, email, roles);
  const token = await invitationToken(url, email);
  ok(
    await gql(url, 'mutation($t: String!) { acceptInvitation(token: $t) { roles } }', {
      token: member,
      variables: { t: token },
    }),
  );
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function count(db: pg.Client, sql: string, params: unknown[]): Promise<number> {
  return Number((await db.query<{ count: string }>(sql, params)).rows[0]?.count);
}

const auditCount = (db: pg.Client, organizationId: string, type: string, subjectId: string) =>
  count(
    db,
    `SELECT count(*) FROM organization.audit_events WHERE organization_id = $1 AND type = $2 AND subject_id = $3`,
    [organizationId, type, subjectId],
  );

const membershipsOf = (db: pg.Client, userId: string) =>
  count(db, `SELECT count(*) FROM organization.memberships WHERE user_id = $1`, [userId]);

/** The organization's delivery of the erasure event of `userId`. */
async function erasureDelivery(db: pg.Client, userId: string) {
  const { rows } = await db.query<{ event_id: string; status: string; attempts: number }>(
    `SELECT d.event_id, d.status, d.attempts FROM events.event_deliveries d
     JOIN events.event_log e ON e.id = d.event_id
     WHERE d.consumer = 'organization' AND e.topic = 'identity.user-erased' AND e.payload->>'userId' = $1`,
    [userId],
  );
  return rows;
}

describe('erasure of a member, delivered by the running platform', () => {
  let platform: TestPlatform;
  let db: pg.Client;
  const url = () => platform.gatewayUrl;
  let alice: TestClient;
  let bob: TestClient;
  let carl: TestClient;
  let dora: TestClient;
  const ids: Record<string, string> = {};
  const orgs: Record<string, string> = {};

  beforeAll(async () => {
    platform = await startTestPlatform({}, { eventPollIntervalMs: 100 });
    db = new pg.Client({ connectionString: platform.databaseUrl });
    await db.connect();
    [alice, bob, carl, dora] = await Promise.all([
      registerClient(url(), 'alice.ames@a.example'),
      registerClient(url(), 'bob.brown@b.example'),
      registerClient(url(), 'carl.cole@b.example'),
      registerClient(url(), 'dora.diaz@b.example'),
    ]);
    for (const [name, client] of Object.entries({ alice, bob, carl, dora })) ids[name] = await userId(url(), client);
    // alice owns acme; bob joins it as admin and invites someone who has not answered yet.
    orgs.acme = await createOrganization(url(), alice, 'acme');
    await join(url(), alice, orgs.acme, 'bob.brown@b.example', bob, ['admin']);
    await invite(url(), bob, orgs.acme, 'eve.east@e.example', ['member']);
    // bob owns bteam: carl joins first as a member, dora later as an admin. bob also owns bsolo, alone.
    orgs.bteam = await createOrganization(url(), bob, 'bteam');
    await join(url(), bob, orgs.bteam, 'carl.cole@b.example', carl, ['member']);
    await join(url(), bob, orgs.bteam, 'dora.diaz@b.example', dora, ['admin']);
    orgs.bsolo = await createOrganization(url(), bob, 'bsolo');
  }, 120_000);

  afterAll(async () => {
    await db?.end();
    await platform?.close();
  });

  it('a field a rule hides costs that field, not the response (partial data)', async () => {
    // carl is a plain member of bteam: he may see who the members are, but only his own email.
    const result = await gql<{
      organization: { members: { user: { id: string; displayName: string; email: string | null } | null }[] };
    }>(url(), 'query($o: ID!) { organization(id: $o) { members { user { id displayName email } } } }', {
      token: carl,
      variables: { o: orgs.bteam },
    });
    const users = result.data?.organization.members.map((m) => m.user) ?? [];
    expect(users.map((u) => u?.id).sort()).toEqual([ids.bob, ids.carl, ids.dora].sort());
    expect(users.every((u) => typeof u?.displayName === 'string')).toBe(true);
    expect(users.find((u) => u?.id === ids.carl)?.email).toBe('carl.cole@b.example');
    expect(users.filter((u) => u?.id !== ids.carl).map((u) => u?.email)).toEqual([null, null]);
    expect(result.errors?.map((e) => [e.extensions?.code, e.path?.at(-1)])).toEqual([
      ['FORBIDDEN', 'email'],
      ['FORBIDDEN', 'email'],
    ]);
  });

  it("co-members' queries answer while the event is on its way; then the member is gone, once", async () => {
    const doraToken = dora.accessToken;
    ok(await gql(url(), ERASE, { token: bob, variables: { p: DEFAULT_PASSWORD } }));

    // The bug: `me` was null for every co-member (User.displayName of the erased user is null).
    const seen = await gql<MeMembers>(url(), ME_MEMBERS, { token: alice });
    expect(seen.data?.me?.id).toBe(ids.alice);
    const acme = seen.data?.me?.organizations?.find((o) => o.id === orgs.acme);
    expect(acme?.members.map((m) => m.user?.id ?? null)).toContain(ids.alice);

    await waitFor('the erasure to be delivered', async () => (await membershipsOf(db, ids.bob as string)) === 0);
    const [delivery] = await erasureDelivery(db, ids.bob as string);
    expect([delivery?.status, delivery?.attempts]).toEqual(['delivered', 1]);

    // acme: bob is no longer a member, his pending invitation is revoked, the log says why (once).
    const after = ok(await gql<MeMembers>(url(), ME_MEMBERS, { token: alice }));
    const members = after.me?.organizations?.find((o) => o.id === orgs.acme)?.members ?? [];
    expect(members.map((m) => [m.user?.id, typeof m.user?.displayName])).toEqual([[ids.alice, 'string']]);
    const invitations = await gql<{ organization: { invitations: { email: string }[] } }>(
      url(),
      'query($o: ID!) { organization(id: $o) { invitations(status: REVOKED) { email } } }',
      { token: alice, variables: { o: orgs.acme } },
    );
    expect(ok(invitations).organization.invitations.map((i) => i.email)).toEqual(['eve.east@e.example']);
    const log = ok(
      await gql<{ organization: { auditLog: { type: string; actor: unknown; subject: unknown }[] } }>(url(), AUDIT, {
        token: alice,
        variables: { o: orgs.acme },
      }),
    ).organization.auditLog;
    expect(log.filter((e) => e.type === 'member.erased')).toEqual([
      { type: 'member.erased', actor: null, subject: { id: ids.bob } },
    ]);
    expect(await auditCount(db, orgs.acme as string, 'member.erased', ids.bob as string)).toBe(1);

    // bteam stays owned: dora (the longest-standing admin) is owner now, carl keeps his role; her old token must
    // refresh to carry it.
    const refused = await gql(url(), '{ me { id } }', { token: doraToken });
    expect(refused.errors?.[0]?.extensions?.reason).toBe('AUTHORIZATION_CHANGED');
    const team = ok(
      await gql<{ organization: { members: { roles: string[]; user: { id: string } }[] } }>(url(), MEMBERS, {
        token: dora,
        variables: { o: orgs.bteam },
      }),
    ).organization.members;
    expect(team.map((m) => [m.user.id, [...m.roles].sort()])).toEqual([
      [ids.carl, ['member']],
      [ids.dora, ['admin', 'owner']],
    ]);
    expect(await auditCount(db, orgs.bteam as string, 'member.erased', ids.bob as string)).toBe(1);
    expect(await auditCount(db, orgs.bteam as string, 'ownership.transferred', ids.dora as string)).toBe(1);

    // bsolo had no other member: it is deleted, as deleteOrganization does.
    const solo = await db.query(`SELECT deleted_at FROM organization.organizations WHERE id = $1`, [orgs.bsolo]);
    expect(solo.rows[0]?.deleted_at).toBeInstanceOf(Date);
  });

  it('announces every membership change of the erasure as a platform event', async () => {
    const { rows } = await db.query<{ payload: { organizationId: string; userId: string; change: string } }>(
      `SELECT payload FROM events.event_log WHERE topic = 'organization.membership-changed' ORDER BY seq`,
    );
    const changes = rows.map((r) => [r.payload.organizationId, r.payload.userId, r.payload.change]);
    expect(changes).toEqual(
      expect.arrayContaining([
        [orgs.acme, ids.bob, 'joined'],
        [orgs.acme, ids.bob, 'user-erased'],
        [orgs.bteam, ids.bob, 'user-erased'],
        [orgs.bteam, ids.dora, 'roles-changed'],
        [orgs.bsolo, ids.bob, 'user-erased'],
      ]),
    );
  });
});

describe('erasure delivered after a restart, and delivered again', () => {
  let first: TestPlatform;
  let platform: TestPlatform;
  let db: pg.Client;
  let alice: TestClient;
  let bob: TestClient;
  let aliceId: string;
  let bobId: string;
  let acme: string;

  beforeAll(async () => {
    // The consumer polls once at start, then not for an hour: the erasure waits for the next process.
    first = await startTestPlatform({}, { eventPollIntervalMs: 3_600_000 });
    const url = first.gatewayUrl;
    db = new pg.Client({ connectionString: first.databaseUrl });
    await db.connect();
    [alice, bob] = await Promise.all([
      registerClient(url, 'alice.ames@a.example'),
      registerClient(url, 'bob.brown@b.example'),
    ]);
    [aliceId, bobId] = [await userId(url, alice), await userId(url, bob)];
    acme = await createOrganization(url, alice, 'acme');
    await join(url, alice, acme, 'bob.brown@b.example', bob, ['member']);
  }, 120_000);

  afterAll(async () => {
    await db?.end();
    if (platform) await platform.close();
    else await first?.close();
  });

  it('answers for the gone member while the event waits, then delivers it exactly once after the restart', async () => {
    ok(await gql(first.gatewayUrl, ERASE, { token: bob, variables: { p: DEFAULT_PASSWORD } }));
    expect((await erasureDelivery(db, bobId)).map((d) => [d.status, d.attempts])).toEqual([['pending', 0]]);

    // bob is still a member here, and his account is gone: the response keeps `me`, with a null user.
    const seen = ok(await gql<MeMembers>(first.gatewayUrl, ME_MEMBERS, { token: alice }));
    const members = seen.me?.organizations?.find((o) => o.id === acme)?.members ?? [];
    expect(members.map((m) => m.user?.id ?? null)).toEqual([aliceId, null]);

    await first.stop();
    platform = await startTestPlatform({}, { reuse: first, eventPollIntervalMs: 100 });
    await waitFor(
      'the delivery after the restart',
      async () => (await erasureDelivery(db, bobId))[0]?.status === 'delivered',
    );
    expect((await erasureDelivery(db, bobId)).map((d) => d.attempts)).toEqual([1]);
    expect(await membershipsOf(db, bobId)).toBe(0);
    expect(await auditCount(db, acme, 'member.erased', bobId)).toBe(1);
  });

  it('a second delivery of the same event changes nothing', async () => {
    const snapshot = async () => ({
      audit: await count(db, `SELECT count(*) FROM organization.audit_events`, []),
      memberships: await count(db, `SELECT count(*) FROM organization.memberships`, []),
      events: await count(db, `SELECT count(*) FROM events.event_log`, []),
    });
    const before = await snapshot();
    const [delivery] = await erasureDelivery(db, bobId);
    await db.query(
      `UPDATE events.event_deliveries SET status = 'pending', next_attempt_at = now() WHERE consumer = 'organization' AND event_id = $1`,
      [delivery?.event_id],
    );
    await waitFor('the second delivery', async () => (await erasureDelivery(db, bobId))[0]?.attempts === 2);
    expect((await erasureDelivery(db, bobId))[0]?.status).toBe('delivered');
    expect(await snapshot()).toEqual(before);
    expect(await auditCount(db, acme, 'member.erased', bobId)).toBe(1);
  });
});
