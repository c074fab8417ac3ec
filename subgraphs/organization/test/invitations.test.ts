// Invitations on the organization subgraph alone (harness): a mailed single-use token (only its hash stored),
// 7 days, accepted once and only by the invited address, revoked or expired links dead, resending issues a new
// one; allowed email domains; the seat limit (members plus pending invitations, not overshot by concurrent
// invitations: the plan's seats, owned by entitlement, which runs alongside); hostile input; and the
// organization's append-only audit log of all of it. Callers carry the email identity verified (the invited address must match it).
import { seedPlans, service as entitlement } from '@g3d/entitlement';
import {
  ACCEPT_INVITATION,
  CREATE_ORGANIZATION,
  type GraphQLResult,
  type Harness,
  INVITE_MEMBER,
  mailedToken,
  ok,
  outbox,
  person,
  platformAdmin,
  RESEND_INVITATION,
  REVOKE_INVITATION,
  startSubgraphs,
  UPDATE_ORGANIZATION,
} from '@g3d/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { service } from '../src/index.ts';

let harness: Harness;
const alice = person('owner@a.example'); // owner of A
const jim = person('jim@b.example'); // owner of B
const joe = person('joe@a.example');
let orgA: string;
let orgB: string;

const SET_SEATS = `mutation($o: ID!, $seats: Int) { setEntitlementOverrides(organizationId: $o, input: { seats: $seats }) { seats } }`;
/** A platform administrator's override of the organization's seats in entitlement (null: unlimited). */
const setSeats = (organizationId: string, seats: number | null) =>
  ok(harness.as(platformAdmin(), { service: 'entitlement' }), { document: SET_SEATS }, { o: organizationId, seats });

const code = (r: GraphQLResult) => r.errors?.[0]?.extensions?.code;
const reason = (r: GraphQLResult) => r.errors?.[0]?.extensions?.reason;

const INVITE = INVITE_MEMBER.document;
const ACCEPT = ACCEPT_INVITATION.document;
const REVOKE = REVOKE_INVITATION.document;
const RESEND = RESEND_INVITATION.document;
const UPDATE = UPDATE_ORGANIZATION.document;

const invitationToken = (email: string) => mailedToken(harness, email, 'invitation');
const query = <T extends object = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  harness.db.pool.query<T>(sql, params);
const invitationCount = async (organizationId: string) =>
  (
    await query<{ n: number }>(`SELECT count(*)::int AS n FROM organization.invitations WHERE organization_id = $1`, [
      organizationId,
    ])
  ).rows[0]?.n;
const memberIds = async (organizationId: string) =>
  (
    await query<{ user_id: string }>(`SELECT user_id FROM organization.memberships WHERE organization_id = $1`, [
      organizationId,
    ])
  ).rows.map((r) => r.user_id);

beforeAll(async () => {
  harness = await startSubgraphs({ organization: service, entitlement });
  await seedPlans(harness.db);
  const [a, b] = await Promise.all([
    ok(harness.as(alice), CREATE_ORGANIZATION, { input: { name: 'Acme', slug: 'acme' } }),
    ok(harness.as(jim), CREATE_ORGANIZATION, { input: { name: 'Bolt', slug: 'bolt' } }),
  ]);
  orgA = a.createOrganization.id;
  orgB = b.createOrganization.id;
  // A has a custom deal: seats enough for every invitation below (B stays on the free plan's seats).
  await setSeats(orgA, 5000);
  await ok(harness.as(alice), UPDATE_ORGANIZATION, {
    id: orgA,
    input: { settings: { allowedEmailDomains: ['a.example'] } },
  });
});
afterAll(() => harness?.close());

describe('invitations', () => {
  let joeToken: string;

  it('mails a single-use link (only its hash stored); the invited person joins with the invited roles', async () => {
    const invited = await ok(harness.as(alice), INVITE_MEMBER, {
      input: { organizationId: orgA, email: ' Joe@A.example ', roles: ['developer'] },
    });
    expect(invited.inviteMember).toMatchObject({ email: 'joe@a.example', status: 'PENDING', roles: ['developer'] });
    const days = (Date.parse(invited.inviteMember.expiresAt) - Date.parse(invited.inviteMember.createdAt)) / 86_400_000;
    expect(days).toBeCloseTo(7, 3);
    expect((await outbox(harness, 'joe@a.example')).map((m) => m.kind)).toEqual(['invitation']);
    joeToken = await invitationToken('joe@a.example');
    // Only the hash is stored.
    const stored = await query<{ token_hash: string }>(
      `SELECT token_hash FROM organization.invitations WHERE email = 'joe@a.example'`,
    );
    expect(stored.rows[0]?.token_hash).not.toContain(joeToken);
    expect(stored.rows[0]?.token_hash).toMatch(/^[0-9a-f]{64}$/);

    const accepted = await ok(harness.as(joe), ACCEPT_INVITATION, { token: joeToken });
    expect(accepted.acceptInvitation).toMatchObject({
      roles: ['developer'],
      organization: { slug: 'acme' },
      user: { id: joe.userId },
    });
    expect(await memberIds(orgA)).toContain(joe.userId);
  });

  it('a token is accepted once; another account, a garbage token and a revoked or expired one get clear codes', async () => {
    const again = await harness.as(joe).gql(ACCEPT, { token: joeToken });
    expect(code(again)).toBe('CONFLICT');

    await ok(harness.as(alice), INVITE_MEMBER, { input: { organizationId: orgA, email: 'kim@a.example' } });
    const kimToken = await invitationToken('kim@a.example');
    const before = await memberIds(orgA);
    // jim holds A's invitation token (forwarded, intercepted): his email is not the invited one.
    const stolen = await harness.as(jim).gql(ACCEPT, { token: kimToken });
    expect([code(stolen), reason(stolen)]).toEqual(['FORBIDDEN', 'INVITATION_EMAIL_MISMATCH']);
    expect(JSON.stringify(stolen)).not.toMatch(/acme|kim@/i);
    // A caller without a verified email in the token (an API key's owner, say) is no match either.
    const noEmail = await harness.as(person('', { email: null })).gql(ACCEPT, { token: kimToken });
    expect(code(noEmail)).toBe('FORBIDDEN');
    expect(await memberIds(orgA)).toEqual(before);

    for (const t of ['', 'inv_nope', 'x'.repeat(10_000), 'inv_\u0000', kimToken.slice(0, -2)]) {
      const result = await harness.as(joe).gql(ACCEPT, { token: t });
      expect([code(result), reason(result)], t.slice(0, 20)).toEqual(['NOT_FOUND', 'INVITATION_INVALID']);
    }
    expect(code(await harness.as().gql(ACCEPT, { token: kimToken }))).toBe('UNAUTHENTICATED');

    const [kimInvitation] = (
      await query<{ id: string }>(`SELECT id FROM organization.invitations WHERE email = 'kim@a.example'`)
    ).rows;
    const revoked = await harness.as(alice).gql(REVOKE, { id: kimInvitation?.id });
    expect(revoked.data).toEqual({ revokeInvitation: expect.objectContaining({ status: 'REVOKED' }) });
    const kim = person('kim@a.example');
    const late = await harness.as(kim).gql(ACCEPT, { token: kimToken });
    expect([code(late), reason(late)]).toEqual(['NOT_FOUND', 'INVITATION_INVALID']);
    expect(code(await harness.as(alice).gql(REVOKE, { id: kimInvitation?.id }))).toBe('CONFLICT');

    // Expired: the link no longer works; resending issues a new one (the old one stays dead).
    await ok(harness.as(alice), INVITE_MEMBER, { input: { organizationId: orgA, email: 'kim@a.example' } });
    const oldToken = await invitationToken('kim@a.example');
    await query(
      `UPDATE organization.invitations SET expires_at = now() - interval '1 minute' WHERE email = 'kim@a.example' AND revoked_at IS NULL`,
    );
    expect(reason(await harness.as(kim).gql(ACCEPT, { token: oldToken }))).toBe('INVITATION_INVALID');
    const [pending] = (
      await query<{ id: string }>(
        `SELECT id FROM organization.invitations WHERE email = 'kim@a.example' AND revoked_at IS NULL`,
      )
    ).rows;
    const resent = await ok(harness.as(alice), RESEND_INVITATION, { id: pending?.id as string });
    expect(resent.resendInvitation.status).toBe('PENDING');
    const newToken = await invitationToken('kim@a.example');
    expect(newToken).not.toBe(oldToken);
    expect(reason(await harness.as(kim).gql(ACCEPT, { token: oldToken }))).toBe('INVITATION_INVALID');
    expect((await harness.as(kim).gql(ACCEPT, { token: newToken })).errors).toBeUndefined();
  });

  it('enforces the allowed email domains, writing and mailing nothing', async () => {
    const invitations = await invitationCount(orgA);
    const outside = await harness.as(alice).gql(INVITE, { input: { organizationId: orgA, email: 'eve@evil.example' } });
    expect([code(outside), reason(outside)]).toEqual(['BAD_USER_INPUT', 'EMAIL_DOMAIN_NOT_ALLOWED']);
    // A look-alike subdomain is another domain.
    const lookalike = await harness
      .as(alice)
      .gql(INVITE, { input: { organizationId: orgA, email: 'eve@a.example.evil.example' } });
    expect(reason(lookalike)).toBe('EMAIL_DOMAIN_NOT_ALLOWED');
    expect(await invitationCount(orgA)).toBe(invitations);
    expect(await outbox(harness, 'eve@evil.example')).toEqual([]);
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
      const result = await harness.as(alice).gql(INVITE, { input });
      expect(code(result), JSON.stringify(input).slice(0, 60)).toBe(expected);
    }
    // jim cannot invite into A, nor revoke or resend A's invitations: A looks like nothing to him.
    expect(code(await harness.as(jim).gql(INVITE, { input: { organizationId: orgA, email: 'x@a.example' } }))).toBe(
      'NOT_FOUND',
    );
    const [any] = (
      await query<{ id: string }>(`SELECT id FROM organization.invitations WHERE organization_id = $1`, [orgA])
    ).rows;
    expect(code(await harness.as(jim).gql(REVOKE, { id: any?.id }))).toBe('NOT_FOUND');
    expect(code(await harness.as(jim).gql(RESEND, { id: any?.id }))).toBe('NOT_FOUND');
    // A member who does not administer A may invite plain members only (allowUserInvites); anonymous callers nobody.
    for (const roles of [['admin'], ['developer'], ['member', 'analyst']]) {
      const result = await harness
        .as(joe)
        .gql(INVITE, { input: { organizationId: orgA, email: 'y@a.example', roles } });
      expect(code(result), roles.join()).toBe('FORBIDDEN');
    }
    expect(code(await harness.as().gql(INVITE, { input: { organizationId: orgA, email: 'y@a.example' } }))).toBe(
      'UNAUTHENTICATED',
    );
    expect(await invitationCount(orgA)).toBe(invitations);
  });

  it("respects the plan's seat limit (members plus pending invitations): entitlement owns it, overrides and plan changes move it", async () => {
    // Organization no longer keeps a seat limit of its own.
    const own = await harness.as(platformAdmin()).gql(UPDATE, { id: orgA, input: { settings: { seatLimit: 500 } } });
    expect(code(own)).toBe('BAD_USER_INPUT');
    const taken = (await memberIds(orgA)).length;
    await setSeats(orgA, taken + 1);
    const last = await harness.as(alice).gql(INVITE, { input: { organizationId: orgA, email: 'last@a.example' } });
    expect(last.errors).toBeUndefined();
    const over = await harness.as(alice).gql(INVITE, { input: { organizationId: orgA, email: 'over@a.example' } });
    expect([code(over), reason(over)]).toEqual(['QUOTA_EXCEEDED', 'SEAT_LIMIT']);
    expect(over.errors?.[0]?.extensions?.seatLimit).toBe(taken + 1);
    // Concurrent invitations cannot overshoot it: the organization row lock serializes them.
    await setSeats(orgA, taken + 3);
    const burst = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        harness.as(alice).gql(INVITE, { input: { organizationId: orgA, email: `burst${i}@a.example` } }),
      ),
    );
    expect(burst.filter((r) => !r.errors)).toHaveLength(2);
    expect(burst.filter((r) => code(r) === 'QUOTA_EXCEEDED')).toHaveLength(4);
    await setSeats(orgA, null);
    expect(
      (await harness.as(alice).gql(INVITE, { input: { organizationId: orgA, email: 'more@a.example' } })).errors,
    ).toBeUndefined();

    // B has no override: the free plan's 5 seats (jim and four invitations).
    for (let i = 0; i < 4; i += 1)
      await ok(harness.as(jim), INVITE_MEMBER, { input: { organizationId: orgB, email: `b${i}@b.example` } });
    const full = await harness.as(jim).gql(INVITE, { input: { organizationId: orgB, email: 'b4@b.example' } });
    expect([code(full), reason(full), full.errors?.[0]?.extensions?.seatLimit]).toEqual([
      'QUOTA_EXCEEDED',
      'SEAT_LIMIT',
      5,
    ]);
    // B moves to basic (10 seats, at once): the next invitation fits.
    await ok(
      harness.as(platformAdmin(), { service: 'entitlement' }),
      {
        document: `mutation($o: ID!) { assignPlan(organizationId: $o, planId: "basic", status: ACTIVE) { plan { id } } }`,
      },
      { o: orgB },
    );
    expect(
      (await harness.as(jim).gql(INVITE, { input: { organizationId: orgB, email: 'b4@b.example' } })).errors,
    ).toBeUndefined();
    // Accepting checks again: with the seats cut below the members, a pending invitation cannot turn into one.
    await setSeats(orgB, 1);
    const token = await invitationToken('b0@b.example');
    const invitee = person('b0@b.example');
    const accept = await harness.as(invitee).gql(ACCEPT, { token });
    expect([code(accept), reason(accept)]).toEqual(['QUOTA_EXCEEDED', 'SEAT_LIMIT']);
    await setSeats(orgB, null);
    expect((await harness.as(invitee).gql(ACCEPT, { token })).errors).toBeUndefined();
  });

  it('lists pending invitations for administrators only', async () => {
    const list = await harness.as(alice).gql<{
      organization: { invitations: { email: string; status: string; invitedBy: { id: string } }[] };
    }>('query($id: ID!) { organization(id: $id) { invitations { email status invitedBy { id } } } }', { id: orgA });
    expect(list.data?.organization.invitations.map((i) => i.email)).toContain('last@a.example');
    expect(list.data?.organization.invitations.every((i) => i.status === 'PENDING')).toBe(true);
    expect(list.data?.organization.invitations.every((i) => i.invitedBy.id === alice.userId)).toBe(true);
    const asDeveloper = await harness
      .as(joe)
      .gql('query($id: ID!) { organization(id: $id) { invitations { email } } }', { id: orgA });
    expect(code(asDeveloper)).toBe('FORBIDDEN');
  });
});

describe('the organization audit log', () => {
  it('records membership, invitation and settings changes in an append-only log readable by administrators', async () => {
    const log = await harness.as(alice).gql<{
      organization: { auditLog: { type: string; actor: { id: string } | null }[] };
    }>('query($id: ID!) { organization(id: $id) { auditLog(first: 200) { type actor { id } subject { id } metadata createdAt } } }', { id: orgA });
    expect(log.errors).toBeUndefined();
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
    await expect(query(`DELETE FROM organization.audit_events`)).rejects.toThrow(/append-only/);
    await expect(query(`UPDATE organization.audit_events SET type = 'x'`)).rejects.toThrow(/append-only/);
    const byJim = await harness.as(jim).gql('query($id: ID!) { organization(id: $id) { auditLog { type } } }', {
      id: orgA,
    });
    expect(byJim.data).toEqual({ organization: null });
    const tooMany = await harness
      .as(alice)
      .gql('query($id: ID!) { organization(id: $id) { auditLog(first: 100000) { type } } }', { id: orgA });
    expect(code(tooMany)).toBe('BAD_USER_INPUT');
  });
});
