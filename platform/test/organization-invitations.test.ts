// Invitations (mailed single-use tokens, 7 days, allowed domains, seat limit, accept once, email must match),
// ownership transfer, soft delete, the organization audit log and 1,000-member pages — through the gateway.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  ADMIN,
  gql,
  type GraphQLResponse,
  invitationToken as invitationTokenOf,
  login,
  registerAccount,
  registerClient,
  signIn,
  startTestPlatform,
  type TestClient,
  type TestPlatform,
} from './helpers.ts';

let platform: TestPlatform;
let db: pg.Client;
let alice: TestClient; // owner of A
let jim: TestClient; // owner of B
let orgA: string;

const url = () => platform.gatewayUrl;
const code = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.code;
const reason = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.reason;

const CREATE = 'mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { id } }';
const UPDATE = 'mutation($id: ID!, $i: UpdateOrganizationInput!) { updateOrganization(id: $id, input: $i) { id } }';
const INVITE =
  'mutation($i: InviteMemberInput!) { inviteMember(input: $i) { id email roles status expiresAt createdAt organization { id } } }';
const ACCEPT = 'mutation($t: String!) { acceptInvitation(token: $t) { roles organization { id slug } user { id } } }';
const REVOKE = 'mutation($id: ID!) { revokeInvitation(id: $id) { status } }';
const RESEND = 'mutation($id: ID!) { resendInvitation(id: $id) { status expiresAt } }';

const invitationToken = (email: string) => invitationTokenOf(url(), email);

const mailCount = async (email: string) =>
  Number((await db.query(`SELECT count(*) FROM mail.mail_outbox WHERE "to" = $1`, [email])).rows[0].count);
const invitationCount = async (organizationId: string) =>
  Number(
    (await db.query(`SELECT count(*) FROM organization.invitations WHERE organization_id = $1`, [organizationId]))
      .rows[0].count,
  );
const memberIds = async (organizationId: string) =>
  (
    await db.query<{ user_id: string }>(`SELECT user_id FROM organization.memberships WHERE organization_id = $1`, [
      organizationId,
    ])
  ).rows.map((r) => r.user_id);
const meId = async (client: TestClient) =>
  (await gql<{ me: { id: string } }>(url(), '{ me { id } }', { token: client })).data?.me.id as string;

beforeAll(async () => {
  platform = await startTestPlatform();
  db = new pg.Client({ connectionString: platform.databaseUrl });
  await db.connect();
  [alice, jim] = await Promise.all([registerClient(url(), 'owner@a.example'), registerClient(url(), 'jim@b.example')]);
  const [a, b] = await Promise.all([
    gql<{ createOrganization: { id: string } }>(url(), CREATE, {
      token: alice,
      variables: { i: { name: 'Acme', slug: 'acme' } },
    }),
    gql<{ createOrganization: { id: string } }>(url(), CREATE, {
      token: jim,
      variables: { i: { name: 'Bolt', slug: 'bolt' } },
    }),
  ]);
  orgA = a.data?.createOrganization.id as string;
  expect(b.data?.createOrganization.id).toBeTruthy();
  await gql(url(), UPDATE, {
    token: alice,
    variables: { id: orgA, i: { settings: { allowedEmailDomains: ['a.example'] } } },
  });
});
afterAll(async () => {
  await db?.end();
  await platform?.close();
});

describe('invitations', () => {
  let joe: TestClient;
  let joeToken: string;

  it('mails a single-use link to a person without an account; they register, sign in and join with the invited roles', async () => {
    const invited = await gql<{
      inviteMember: { status: string; roles: string[]; expiresAt: string; createdAt: string };
    }>(url(), INVITE, {
      token: alice,
      variables: { i: { organizationId: orgA, email: ' Joe@A.example ', roles: ['developer'] } },
    });
    expect(invited.data?.inviteMember).toMatchObject({ status: 'PENDING', roles: ['developer'] });
    const days =
      (Date.parse(invited.data?.inviteMember.expiresAt ?? '') -
        Date.parse(invited.data?.inviteMember.createdAt ?? '')) /
      86_400_000;
    expect(days).toBeCloseTo(7, 3);
    joeToken = await invitationToken('joe@a.example');
    // Only the hash is stored.
    const stored = await db.query(`SELECT token_hash FROM organization.invitations WHERE email = 'joe@a.example'`);
    expect(stored.rows[0].token_hash).not.toContain(joeToken);
    expect(stored.rows[0].token_hash).toMatch(/^[0-9a-f]{64}$/);

    await registerAccount(url(), 'joe@a.example');
    joe = await signIn(url(), 'joe@a.example', 'a long enough passphrase');
    const accepted = await gql<{ acceptInvitation: { roles: string[]; organization: { slug: string } } }>(
      url(),
      ACCEPT,
      {
        token: joe,
        variables: { t: joeToken },
      },
    );
    expect(accepted.data?.acceptInvitation).toMatchObject({ roles: ['developer'], organization: { slug: 'acme' } });
    expect(await memberIds(orgA)).toContain(await meId(joe));
  });

  it('a token is accepted once; another account, a garbage token and a revoked or expired one get clear codes', async () => {
    const again = await gql(url(), ACCEPT, { token: joe, variables: { t: joeToken } });
    expect(code(again)).toBe('CONFLICT');

    await gql(url(), INVITE, { token: alice, variables: { i: { organizationId: orgA, email: 'kim@a.example' } } });
    const kimToken = await invitationToken('kim@a.example');
    const before = await memberIds(orgA);
    // jim holds A's invitation token (forwarded, intercepted): his email is not the invited one.
    const stolen = await gql(url(), ACCEPT, { token: jim, variables: { t: kimToken } });
    expect([code(stolen), reason(stolen)]).toEqual(['FORBIDDEN', 'INVITATION_EMAIL_MISMATCH']);
    expect(JSON.stringify(stolen)).not.toMatch(/acme|kim@/i);
    expect(await memberIds(orgA)).toEqual(before);

    for (const t of ['', 'inv_nope', 'x'.repeat(10_000), 'inv_\u0000', kimToken.slice(0, -2)]) {
      const result = await gql(url(), ACCEPT, { token: joe, variables: { t } });
      expect([code(result), reason(result)], t.slice(0, 20)).toEqual(['NOT_FOUND', 'INVITATION_INVALID']);
    }
    const anonymous = await gql(url(), ACCEPT, { variables: { t: kimToken } });
    expect(code(anonymous)).toBe('UNAUTHENTICATED');

    const [kimInvitation] = (await db.query(`SELECT id FROM organization.invitations WHERE email = 'kim@a.example'`))
      .rows as { id: string }[];
    const revoked = await gql(url(), REVOKE, { token: alice, variables: { id: kimInvitation?.id } });
    expect(revoked.data).toEqual({ revokeInvitation: { status: 'REVOKED' } });
    await registerAccount(url(), 'kim@a.example');
    const kim = await signIn(url(), 'kim@a.example', 'a long enough passphrase');
    const late = await gql(url(), ACCEPT, { token: kim, variables: { t: kimToken } });
    expect([code(late), reason(late)]).toEqual(['NOT_FOUND', 'INVITATION_INVALID']);
    expect(code(await gql(url(), REVOKE, { token: alice, variables: { id: kimInvitation?.id } }))).toBe('CONFLICT');

    // Expired: the link no longer works; resending issues a new one (the old one stays dead).
    await gql(url(), INVITE, { token: alice, variables: { i: { organizationId: orgA, email: 'kim@a.example' } } });
    const oldToken = await invitationToken('kim@a.example');
    await db.query(
      `UPDATE organization.invitations SET expires_at = now() - interval '1 minute' WHERE email = 'kim@a.example' AND revoked_at IS NULL`,
    );
    const expired = await gql(url(), ACCEPT, { token: kim, variables: { t: oldToken } });
    expect(reason(expired)).toBe('INVITATION_INVALID');
    const [pending] = (
      await db.query(`SELECT id FROM organization.invitations WHERE email = 'kim@a.example' AND revoked_at IS NULL`)
    ).rows as { id: string }[];
    const resent = await gql<{ resendInvitation: { status: string } }>(url(), RESEND, {
      token: alice,
      variables: { id: pending?.id },
    });
    expect(resent.data?.resendInvitation.status).toBe('PENDING');
    const newToken = await invitationToken('kim@a.example');
    expect(newToken).not.toBe(oldToken);
    expect(reason(await gql(url(), ACCEPT, { token: kim, variables: { t: oldToken } }))).toBe('INVITATION_INVALID');
    const joined = await gql(url(), ACCEPT, { token: kim, variables: { t: newToken } });
    expect(joined.errors).toBeUndefined();
  });

  it('enforces the allowed email domains, writing and mailing nothing', async () => {
    const invitations = await invitationCount(orgA);
    const outside = await gql(url(), INVITE, {
      token: alice,
      variables: { i: { organizationId: orgA, email: 'eve@evil.example' } },
    });
    expect([code(outside), reason(outside)]).toEqual(['BAD_USER_INPUT', 'EMAIL_DOMAIN_NOT_ALLOWED']);
    // A look-alike subdomain is another domain.
    const lookalike = await gql(url(), INVITE, {
      token: alice,
      variables: { i: { organizationId: orgA, email: 'eve@a.example.evil.example' } },
    });
    expect(reason(lookalike)).toBe('EMAIL_DOMAIN_NOT_ALLOWED');
    expect(await invitationCount(orgA)).toBe(invitations);
    expect(await mailCount('eve@evil.example')).toBe(0);
  });

  it('refuses hostile input with clear codes: bad emails, roles, oversize strings, strangers', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ organizationId: orgA, email: 'not an email' }, 'BAD_USER_INPUT'],
      [{ organizationId: orgA, email: `${'x'.repeat(10_000)}@a.example` }, 'BAD_USER_INPUT'],
      [{ organizationId: orgA, email: 'a@a.example, b@a.example' }, 'BAD_USER_INPUT'],
      [{ organizationId: orgA, email: 'nul\u0000@a.example' }, 'BAD_USER_INPUT'],
      [{ organizationId: orgA, email: 'ok@a.example', roles: ['super_admin'] }, 'BAD_USER_INPUT'],
      [{ organizationId: orgA, email: 'ok@a.example', roles: [] }, 'BAD_USER_INPUT'],
      [{ organizationId: orgA, email: 'ok@a.example', roles: ['x'.repeat(10_000)] }, 'BAD_USER_INPUT'],
      [{ organizationId: 'not-a-uuid', email: 'ok@a.example' }, 'NOT_FOUND'],
    ];
    const invitations = await invitationCount(orgA);
    for (const [input, expected] of cases) {
      const result = await gql(url(), INVITE, { token: alice, variables: { i: input } });
      expect(code(result), JSON.stringify(input).slice(0, 60)).toBe(expected);
    }
    // jim cannot invite into A, nor revoke or resend A's invitations: A looks like nothing to him.
    expect(
      code(await gql(url(), INVITE, { token: jim, variables: { i: { organizationId: orgA, email: 'x@a.example' } } })),
    ).toBe('NOT_FOUND');
    const [any] = (await db.query(`SELECT id FROM organization.invitations WHERE organization_id = $1`, [orgA]))
      .rows as { id: string }[];
    expect(code(await gql(url(), REVOKE, { token: jim, variables: { id: any?.id } }))).toBe('NOT_FOUND');
    expect(code(await gql(url(), RESEND, { token: jim, variables: { id: any?.id } }))).toBe('NOT_FOUND');
    expect(await invitationCount(orgA)).toBe(invitations);
  });

  it('respects the seat limit (members plus pending invitations), which only platform administrators change', async () => {
    const byOwner = await gql(url(), UPDATE, {
      token: alice,
      variables: { id: orgA, i: { settings: { seatLimit: 500 } } },
    });
    expect(code(byOwner)).toBe('FORBIDDEN');
    const taken = (await memberIds(orgA)).length;
    const admin = await login(url(), ADMIN.email, ADMIN.password);
    const bySuperAdmin = await gql(url(), UPDATE, {
      token: admin,
      variables: { id: orgA, i: { settings: { seatLimit: taken + 1 } } },
    });
    expect(bySuperAdmin.errors).toBeUndefined();
    const last = await gql(url(), INVITE, {
      token: alice,
      variables: { i: { organizationId: orgA, email: 'last@a.example' } },
    });
    expect(last.errors).toBeUndefined();
    const over = await gql(url(), INVITE, {
      token: alice,
      variables: { i: { organizationId: orgA, email: 'over@a.example' } },
    });
    expect([code(over), reason(over)]).toEqual(['QUOTA_EXCEEDED', 'SEAT_LIMIT']);
    // Concurrent invitations cannot overshoot it: the organization row lock serializes them.
    await gql(url(), UPDATE, { token: admin, variables: { id: orgA, i: { settings: { seatLimit: taken + 3 } } } });
    const burst = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        gql(url(), INVITE, { token: alice, variables: { i: { organizationId: orgA, email: `burst${i}@a.example` } } }),
      ),
    );
    expect(burst.filter((r) => !r.errors)).toHaveLength(2);
    expect(burst.filter((r) => code(r) === 'QUOTA_EXCEEDED')).toHaveLength(4);
    await gql(url(), UPDATE, { token: admin, variables: { id: orgA, i: { settings: { seatLimit: 5000 } } } });
  });

  it('lists pending invitations for administrators only', async () => {
    const list = await gql<{
      organization: { invitations: { email: string; status: string; invitedBy: { id: string } }[] };
    }>(url(), 'query($id: ID!) { organization(id: $id) { invitations { email status invitedBy { id } } } }', {
      token: alice,
      variables: { id: orgA },
    });
    expect(list.data?.organization.invitations.map((i) => i.email)).toContain('last@a.example');
    expect(list.data?.organization.invitations.every((i) => i.status === 'PENDING')).toBe(true);
    const asDeveloper = await gql(url(), 'query($id: ID!) { organization(id: $id) { invitations { email } } }', {
      token: joe,
      variables: { id: orgA },
    });
    expect(code(asDeveloper)).toBe('FORBIDDEN');
  });
});

describe('ownership, deletion and the audit log', () => {
  it('records membership, invitation and settings changes in an append-only log readable by administrators', async () => {
    const log = await gql<{ organization: { auditLog: { type: string; actor: { id: string } | null }[] } }>(
      url(),
      'query($id: ID!) { organization(id: $id) { auditLog(first: 200) { type actor { id } subject { id } metadata createdAt } } }',
      { token: alice, variables: { id: orgA } },
    );
    const types = new Set(log.data?.organization.auditLog.map((e) => e.type));
    for (const type of [
      'organization.created',
      'settings.updated',
      'invitation.created',
      'invitation.revoked',
      'invitation.resent',
      'invitation.accepted',
      'member.added',
    ]) {
      expect(types, type).toContain(type);
    }
    await expect(db.query(`DELETE FROM organization.audit_events`)).rejects.toThrow(/append-only/);
    await expect(db.query(`UPDATE organization.audit_events SET type = 'x'`)).rejects.toThrow(/append-only/);
    const byJim = await gql(url(), 'query($id: ID!) { organization(id: $id) { auditLog { type } } }', {
      token: jim,
      variables: { id: orgA },
    });
    expect(byJim.data).toEqual({ organization: null });
    expect(
      code(
        await gql(url(), 'query($id: ID!) { organization(id: $id) { auditLog(first: 100000) { type } } }', {
          token: alice,
          variables: { id: orgA },
        }),
      ),
    ).toBe('BAD_USER_INPUT');
  });

  it('transfers ownership to a member (the old owner stays admin); only owners may', async () => {
    const org = (
      await gql<{ createOrganization: { id: string } }>(url(), CREATE, {
        token: jim,
        variables: { i: { name: 'Transfer', slug: 'transfer-co' } },
      })
    ).data?.createOrganization.id as string;
    await gql(url(), UPDATE, { token: jim, variables: { id: org, i: { settings: { allowedEmailDomains: [] } } } });
    const zed = await registerClient(url(), 'zed@z.example');
    await gql(url(), INVITE, {
      token: jim,
      variables: { i: { organizationId: org, email: 'zed@z.example', roles: ['admin'] } },
    });
    await gql(url(), ACCEPT, { token: zed, variables: { t: await invitationToken('zed@z.example') } });
    const zedId = await meId(zed);
    const jimId = await meId(jim);
    const TRANSFER = 'mutation($o: ID!, $u: ID!) { transferOwnership(organizationId: $o, userId: $u) { roles } }';
    expect(code(await gql(url(), TRANSFER, { token: zed, variables: { o: org, u: zedId } }))).toBe('FORBIDDEN');
    expect(code(await gql(url(), TRANSFER, { token: alice, variables: { o: org, u: zedId } }))).toBe('NOT_FOUND');
    const done = await gql<{ transferOwnership: { roles: string[] } }>(url(), TRANSFER, {
      token: jim,
      variables: { o: org, u: zedId },
    });
    expect(done.data?.transferOwnership.roles).toEqual(expect.arrayContaining(['owner', 'admin']));
    const jimNow = await gql<{ organization: { member: { roles: string[] } } }>(
      url(),
      'query($id: ID!, $u: ID!) { organization(id: $id) { member(userId: $u) { roles } } }',
      { token: jim, variables: { id: org, u: jimId } },
    );
    expect(jimNow.data?.organization.member.roles).toEqual(['admin']);
  });

  it('soft-deletes for owners only (slug repeated); members lose it at once and the slug stays taken', async () => {
    const org = (
      await gql<{ createOrganization: { id: string } }>(url(), CREATE, {
        token: jim,
        variables: { i: { name: 'Doomed', slug: 'doomed-co' } },
      })
    ).data?.createOrganization.id as string;
    const DELETE = 'mutation($id: ID!, $s: String!) { deleteOrganization(id: $id, confirmSlug: $s) }';
    expect(code(await gql(url(), DELETE, { token: alice, variables: { id: org, s: 'doomed-co' } }))).toBe('NOT_FOUND');
    const wrong = await gql(url(), DELETE, { token: jim, variables: { id: org, s: 'doomed' } });
    expect([code(wrong), wrong.errors?.[0]?.extensions?.field]).toEqual(['BAD_USER_INPUT', 'confirmSlug']);
    expect((await gql(url(), DELETE, { token: jim, variables: { id: org, s: 'doomed-co' } })).data).toEqual({
      deleteOrganization: true,
    });
    const gone = await gql(url(), 'query($id: ID!) { organization(id: $id) { id } }', {
      token: jim,
      variables: { id: org },
    });
    expect(gone.data).toEqual({ organization: null });
    const mine = await gql<{ me: { organizations: { slug: string }[] } }>(url(), '{ me { organizations { slug } } }', {
      token: jim,
    });
    expect(mine.data?.me.organizations.map((o) => o.slug)).not.toContain('doomed-co');
    const reuse = await gql(url(), CREATE, { token: alice, variables: { i: { name: 'Again', slug: 'doomed-co' } } });
    expect(code(reuse)).toBe('CONFLICT');
    // The row is still there (soft delete), marked.
    const row = await db.query(`SELECT deleted_at FROM organization.organizations WHERE id = $1`, [org]);
    expect(row.rows[0].deleted_at).not.toBeNull();
  });
});

describe('hostile input on the other organization mutations', () => {
  it('answers garbage ids, oversize strings and control characters with clear codes, changing nothing', async () => {
    const KB10 = 'x'.repeat(10_240);
    const random = '00000000-0000-4000-8000-000000000000';
    const before = await db.query(`SELECT * FROM organization.organizations WHERE id = $1`, [orgA]);
    const cases: [string, Record<string, unknown>, string][] = [
      [UPDATE, { id: orgA, i: { billingAddress: KB10 } }, 'BAD_USER_INPUT'],
      [UPDATE, { id: orgA, i: { taxId: 'DE\u0000123' } }, 'BAD_USER_INPUT'],
      [UPDATE, { id: orgA, i: { taxId: KB10 } }, 'BAD_USER_INPUT'],
      [UPDATE, { id: orgA, i: { billingEmail: 'not-an-email' } }, 'BAD_USER_INPUT'],
      [UPDATE, { id: orgA, i: { settings: { seatLimit: -1 } } }, 'FORBIDDEN'],
      [UPDATE, { id: 'not-a-uuid', i: { name: 'x' } }, 'NOT_FOUND'],
      [
        'mutation($id: ID!, $s: String!) { deleteOrganization(id: $id, confirmSlug: $s) }',
        { id: orgA, s: KB10 },
        'BAD_USER_INPUT',
      ],
      [
        'mutation($id: ID!, $s: String!) { deleteOrganization(id: $id, confirmSlug: $s) }',
        { id: random, s: 'acme' },
        'NOT_FOUND',
      ],
      [
        'mutation($o: ID!, $u: ID!) { transferOwnership(organizationId: $o, userId: $u) { roles } }',
        { o: orgA, u: 'not-a-uuid' },
        'NOT_FOUND',
      ],
      [
        'mutation($o: ID!, $u: ID!) { transferOwnership(organizationId: $o, userId: $u) { roles } }',
        { o: orgA, u: random },
        'NOT_FOUND',
      ],
      [REVOKE, { id: 'not-a-uuid' }, 'NOT_FOUND'],
      [REVOKE, { id: random }, 'NOT_FOUND'],
      [RESEND, { id: KB10 }, 'NOT_FOUND'],
    ];
    for (const [query, variables, expected] of cases) {
      const result = await gql(url(), query, { token: alice, variables });
      expect(code(result), `${query.slice(9, 40)} ${JSON.stringify(variables).slice(0, 60)}`).toBe(expected);
    }
    const after = await db.query(`SELECT * FROM organization.organizations WHERE id = $1`, [orgA]);
    expect(after.rows[0]).toEqual(before.rows[0]);
  });
});

describe('member pages', () => {
  it('pages through 1,000+ members with cursors; refuses pages over 1,000', async () => {
    const org = (
      await gql<{ createOrganization: { id: string } }>(url(), CREATE, {
        token: alice,
        variables: { i: { name: 'Big', slug: 'big-co' } },
      })
    ).data?.createOrganization.id as string;
    await db.query(
      `INSERT INTO organization.memberships (id, organization_id, user_id, roles, created_at)
       SELECT gen_random_uuid(), $1, gen_random_uuid(), '{member}', now() + make_interval(secs => g / 1000.0)
       FROM generate_series(1, 1200) g`,
      [org],
    );
    const PAGE =
      'query($id: ID!, $f: Int, $a: String) { organization(id: $id) { memberCount members(first: $f, after: $a) { cursor user { id } } } }';
    const first = await gql<{
      organization: { memberCount: number; members: { cursor: string; user: { id: string } }[] };
    }>(url(), PAGE, { token: alice, variables: { id: org, f: 1000 } });
    expect(first.data?.organization.memberCount).toBe(1201);
    expect(first.data?.organization.members).toHaveLength(1000);
    const rest = await gql<{ organization: { members: { user: { id: string } }[] } }>(url(), PAGE, {
      token: alice,
      variables: { id: org, f: 1000, a: first.data?.organization.members.at(-1)?.cursor },
    });
    expect(rest.data?.organization.members).toHaveLength(201);
    const all = new Set(
      [...(first.data?.organization.members ?? []), ...(rest.data?.organization.members ?? [])].map((m) => m.user.id),
    );
    expect(all.size).toBe(1201);
    for (const [f, a, expected] of [
      [1001, null, 'BAD_USER_INPUT'],
      [0, null, 'BAD_USER_INPUT'],
      [-1, null, 'BAD_USER_INPUT'],
      [10, 'garbage', 'BAD_USER_INPUT'],
      [10, 'x'.repeat(10_000), 'BAD_USER_INPUT'],
    ] as const) {
      expect(
        code(await gql(url(), PAGE, { token: alice, variables: { id: org, f, a } })),
        `${f} ${a?.slice(0, 9)}`,
      ).toBe(expected);
    }
    expect((await gql(url(), PAGE, { token: jim, variables: { id: org, f: 10 } })).data).toEqual({
      organization: null,
    });
  });
});
