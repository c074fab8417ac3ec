// Organizations and memberships on the organization subgraph alone (harness): create (the creator becomes
// owner), validated slugs, update by owners/admins only, soft delete, tenants that cannot see each other; member
// roles (one owner always remains, also under concurrency), ownership transfer, 1,000-member pages; the marks
// the gateway reads when a member's authorization changes; and the /internal route only identity may call.
// Callers are whoever the test says (a gateway token minted for them): organization keeps its own member list.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

import {
  authorizationChangedKey,
  type Caller,
  loadOrCreateSigningKey,
  SERVICE_TOKEN_HEADER,
  type SigningKey,
  signServiceToken,
} from '@g3d/auth';
import {
  caller,
  CHANGE_MEMBER_ROLES,
  CREATE_ORGANIZATION,
  DELETE_ORGANIZATION,
  type GraphQLResult,
  type Harness,
  LEAVE_ORGANIZATION,
  ok,
  person,
  REMOVE_MEMBER,
  startSubgraphs,
  TRANSFER_OWNERSHIP,
} from '@g3d/testkit';
import { generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { service } from '../src/index.ts';

let harness: Harness;
/** Stands in for identity: publishes identity's public key (the JWKS organization verifies service tokens with). */
let identityJwks: http.Server;
let identityKey: SigningKey;
let keyDir: string;

const alicia = person('alicia@a.example');
const jim = person('jim@b.example');
let orgA: string;
let orgB: string;

const as = (who?: Caller) => harness.as(who);
const code = (r: GraphQLResult) => r.errors?.[0]?.extensions?.code;
const field = (r: GraphQLResult) => r.errors?.[0]?.extensions?.field;

const CREATE =
  'mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { id slug name settings { enforceMfa dataRetentionDays } members { roles } } }';
const UPDATE =
  'mutation($id: ID!, $i: UpdateOrganizationInput!) { updateOrganization(id: $id, input: $i) { id name description settings { allowedEmailDomains dataRetentionDays } } }';
/** The organizations of `who` as the gateway asks for them (User.organizations through _entities). */
const ORGANIZATIONS_OF_USER =
  'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { organizations { slug } } } }';

async function slugsOf(who: Caller): Promise<string[]> {
  const result = await as(who).gql<{ _entities: { organizations: { slug: string }[] }[] }>(ORGANIZATIONS_OF_USER, {
    r: [{ __typename: 'User', id: who.userId }],
  });
  expect(result.errors).toBeUndefined();
  return result.data?._entities[0]?.organizations.map((o) => o.slug) ?? [];
}

/** Makes `userId` a member of `organizationId` directly (invitations have their own tests). */
async function addMember(organizationId: string, userId: string, roles: string[]) {
  await harness.db.pool.query(
    `INSERT INTO organization.memberships (id, organization_id, user_id, roles) VALUES (gen_random_uuid(), $1, $2, $3)`,
    [organizationId, userId, roles],
  );
}

beforeAll(async () => {
  keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-identity-key-'));
  identityKey = await loadOrCreateSigningKey(keyDir, 'identity');
  identityJwks = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [identityKey.publicJwk] }));
  });
  await new Promise<void>((resolve) => identityJwks.listen(0, '127.0.0.1', resolve));
  const { port } = identityJwks.address() as AddressInfo;
  harness = await startSubgraphs({ organization: service }, { peers: { identity: `http://127.0.0.1:${port}` } });
  orgA = (await ok(as(alicia), CREATE_ORGANIZATION, { input: { name: 'Acme', slug: 'acme' } })).createOrganization.id;
  orgB = (await ok(as(jim), CREATE_ORGANIZATION, { input: { name: 'Bolt', slug: 'bolt' } })).createOrganization.id;
});
afterAll(async () => {
  await harness?.close();
  await new Promise((resolve) => identityJwks?.close(resolve));
  fs.rmSync(keyDir, { recursive: true, force: true });
});

describe('organizations', () => {
  it('makes the creator the owner, with default settings', async () => {
    const result = await as(alicia).gql<{
      organizationBySlug: {
        id: string;
        members: { roles: string[] }[];
        settings: { enforceMfa: boolean; dataRetentionDays: number };
      };
    }>('{ organizationBySlug(slug: "acme") { id members { roles } settings { enforceMfa dataRetentionDays } } }');
    expect(result.data?.organizationBySlug).toEqual({
      id: orgA,
      members: [{ roles: ['owner', 'admin'] }],
      settings: { enforceMfa: false, dataRetentionDays: 365 },
    });
    expect(await slugsOf(alicia)).toEqual(['acme']);
  });

  it('refuses invalid, reserved and taken slugs, and oversize or control-character names, writing nothing', async () => {
    for (const slug of [
      '',
      'ab',
      'Acme',
      'acme_1',
      '-acme',
      'acme-',
      'a--b',
      'ac me',
      'x'.repeat(49),
      'admin',
      'acme\u0000',
    ]) {
      const result = await as(alicia).gql(CREATE, { i: { name: 'X', slug } });
      expect([code(result), field(result)], slug).toEqual(['BAD_USER_INPUT', 'slug']);
    }
    const taken = await as(alicia).gql(CREATE, { i: { name: 'Other', slug: 'bolt' } });
    expect([code(taken), field(taken)]).toEqual(['CONFLICT', 'slug']);
    const concurrent = await Promise.all(
      Array.from({ length: 5 }, () => as(alicia).gql(CREATE, { i: { name: 'Race', slug: 'race-slug' } })),
    );
    expect(concurrent.filter((r) => !r.errors)).toHaveLength(1);
    expect(concurrent.filter((r) => code(r) === 'CONFLICT')).toHaveLength(4);
    for (const name of ['', '   ', 'n'.repeat(10_000), 'bad\u0007name', '\ud800']) {
      const result = await as(alicia).gql(CREATE, { i: { name, slug: 'fresh-slug' } });
      expect([code(result), field(result)]).toEqual(['BAD_USER_INPUT', 'name']);
    }
    const website = await as(alicia).gql(CREATE, {
      i: { name: 'W', slug: 'fresh-slug', website: 'javascript:alert(1)' },
    });
    expect([code(website), field(website)]).toEqual(['BAD_USER_INPUT', 'website']);
    // None of the refused attempts left an organization behind.
    expect((await slugsOf(alicia)).sort()).toEqual(['acme', 'race-slug']);
  });

  it('lets owners update the profile and settings; validates the whole input before writing', async () => {
    const updated = await as(alicia).gql<{
      updateOrganization: { name: string; settings: { allowedEmailDomains: string[]; enforceMfa: boolean } };
    }>(UPDATE, {
      id: orgA,
      i: { name: 'Acme Inc', settings: { dataRetentionDays: 90, allowedEmailDomains: ['A.example', 'a.example'] } },
    });
    expect(updated.data?.updateOrganization).toMatchObject({
      name: 'Acme Inc',
      settings: { dataRetentionDays: 90, allowedEmailDomains: ['a.example'] },
    });
    const bad = await as(alicia).gql(UPDATE, {
      id: orgA,
      i: { name: 'Should not stick', settings: { dataRetentionDays: 0 } },
    });
    expect([code(bad), field(bad)]).toEqual(['BAD_USER_INPUT', 'dataRetentionDays']);
    const domains = await as(alicia).gql(UPDATE, {
      id: orgA,
      i: { settings: { allowedEmailDomains: ['not a domain'] } },
    });
    expect([code(domains), field(domains)]).toEqual(['BAD_USER_INPUT', 'allowedEmailDomains']);
    const after = await as(alicia).gql<{ organization: { name: string } }>(
      'query($id: ID!) { organization(id: $id) { name } }',
      { id: orgA },
    );
    expect(after.data?.organization.name).toBe('Acme Inc');
  });

  it('keeps tenants apart: jim cannot read or change anything of A', async () => {
    const byId = await as(jim).gql('query($id: ID!) { organization(id: $id) { id name } }', { id: orgA });
    expect(byId.data).toEqual({ organization: null });
    const bySlug = await as(jim).gql('{ organizationBySlug(slug: "acme") { id } }');
    expect(bySlug.data).toEqual({ organizationBySlug: null });
    const update = await as(jim).gql(UPDATE, { id: orgA, i: { name: 'Pwned' } });
    expect(code(update)).toBe('NOT_FOUND');
    const missing = await as(jim).gql(UPDATE, { id: '00000000-0000-4000-8000-000000000000', i: { name: 'X' } });
    expect(missing.errors?.[0]).toEqual(expect.objectContaining({ message: update.errors?.[0]?.message }));
    const garbage = await as(jim).gql('query($id: ID!) { organization(id: $id) { id } }', { id: 'not-a-uuid' });
    expect(garbage.data).toEqual({ organization: null });
    const own = await as(jim).gql<{ organization: { name: string } }>(
      'query($id: ID!) { organization(id: $id) { name } }',
      { id: orgB },
    );
    expect(own.data?.organization.name).toBe('Bolt');
  });

  it('requires a signed-in person: anonymous callers and API keys cannot create organizations', async () => {
    const anonymous = await as().gql(CREATE, { i: { name: 'Anon', slug: 'anon-org' } });
    expect(code(anonymous)).toBe('UNAUTHENTICATED');
    const key = caller({ kind: 'apiKey', userId: alicia.userId as string, organizationId: orgA, scopes: ['org:read'] });
    const viaKey = await as(key).gql(CREATE, { i: { name: 'Bot', slug: 'bot-org' } });
    expect(code(viaKey)).toBe('FORBIDDEN');
    expect((await slugsOf(alicia)).sort()).toEqual(['acme', 'race-slug']);
  });

  it('soft-deletes for owners only (slug repeated); members lose it at once and the slug stays taken', async () => {
    const org = (await ok(as(jim), CREATE_ORGANIZATION, { input: { name: 'Doomed', slug: 'doomed-co' } }))
      .createOrganization.id;
    expect(code(await as(alicia).gql(DELETE_ORGANIZATION.document, { id: org, confirmSlug: 'doomed-co' }))).toBe(
      'NOT_FOUND',
    );
    const wrong = await as(jim).gql(DELETE_ORGANIZATION.document, { id: org, confirmSlug: 'doomed' });
    expect([code(wrong), field(wrong)]).toEqual(['BAD_USER_INPUT', 'confirmSlug']);
    expect(await ok(as(jim), DELETE_ORGANIZATION, { id: org, confirmSlug: 'doomed-co' })).toEqual({
      deleteOrganization: true,
    });
    const gone = await as(jim).gql('query($id: ID!) { organization(id: $id) { id } }', { id: org });
    expect(gone.data).toEqual({ organization: null });
    expect(await slugsOf(jim)).not.toContain('doomed-co');
    const reuse = await as(alicia).gql(CREATE, { i: { name: 'Again', slug: 'doomed-co' } });
    expect(code(reuse)).toBe('CONFLICT');
    // The row is still there (soft delete), marked.
    const row = await harness.db.pool.query(`SELECT deleted_at FROM organization.organizations WHERE id = $1`, [org]);
    expect(row.rows[0].deleted_at).not.toBeNull();
  });

  it('answers garbage ids, oversize strings and control characters on the other mutations with clear codes, changing nothing', async () => {
    const KB10 = 'x'.repeat(10_240);
    const random = '00000000-0000-4000-8000-000000000000';
    const REVOKE = 'mutation($id: ID!) { revokeInvitation(id: $id) { status } }';
    const RESEND = 'mutation($id: ID!) { resendInvitation(id: $id) { status expiresAt } }';
    const before = await harness.db.pool.query(`SELECT * FROM organization.organizations WHERE id = $1`, [orgA]);
    const cases: [string, Record<string, unknown>, string][] = [
      [UPDATE, { id: orgA, i: { billingAddress: KB10 } }, 'BAD_USER_INPUT'],
      [UPDATE, { id: orgA, i: { taxId: 'DE\u0000123' } }, 'BAD_USER_INPUT'],
      [UPDATE, { id: orgA, i: { taxId: KB10 } }, 'BAD_USER_INPUT'],
      [UPDATE, { id: orgA, i: { billingEmail: 'not-an-email' } }, 'BAD_USER_INPUT'],
      [UPDATE, { id: orgA, i: { settings: { seatLimit: 500 } } }, 'BAD_USER_INPUT'],
      [UPDATE, { id: 'not-a-uuid', i: { name: 'x' } }, 'NOT_FOUND'],
      [DELETE_ORGANIZATION.document, { id: orgA, confirmSlug: KB10 }, 'BAD_USER_INPUT'],
      [DELETE_ORGANIZATION.document, { id: random, confirmSlug: 'acme' }, 'NOT_FOUND'],
      [TRANSFER_OWNERSHIP.document, { organizationId: orgA, userId: 'not-a-uuid' }, 'NOT_FOUND'],
      [TRANSFER_OWNERSHIP.document, { organizationId: orgA, userId: random }, 'NOT_FOUND'],
      [REVOKE, { id: 'not-a-uuid' }, 'NOT_FOUND'],
      [REVOKE, { id: random }, 'NOT_FOUND'],
      [RESEND, { id: KB10 }, 'NOT_FOUND'],
    ];
    for (const [query, variables, expected] of cases) {
      const result = await as(alicia).gql(query, variables);
      expect(code(result), `${query.slice(9, 40)} ${JSON.stringify(variables).slice(0, 60)}`).toBe(expected);
    }
    const after = await harness.db.pool.query(`SELECT * FROM organization.organizations WHERE id = $1`, [orgA]);
    expect(after.rows[0]).toEqual(before.rows[0]);
  });
});

describe('memberships', () => {
  const joe = person('joe@a.example');
  const joeId = joe.userId as string;
  const aliciaId = alicia.userId as string;
  const CHANGE = CHANGE_MEMBER_ROLES.document;
  const REMOVE = REMOVE_MEMBER.document;
  const LEAVE = LEAVE_ORGANIZATION.document;

  beforeAll(async () => {
    await addMember(orgA, joeId, ['developer']);
  });

  it('lets the owner change roles, marking the change for the gateway; refuses unknown, platform and empty role lists', async () => {
    await harness.store.del(authorizationChangedKey(joeId));
    const changed = await as(alicia).gql(CHANGE, {
      organizationId: orgA,
      userId: joeId,
      roles: ['developer', 'analyst'],
    });
    expect(changed.data).toEqual({ changeMemberRoles: { roles: ['developer', 'analyst'] } });
    // Tokens issued before now carry the old roles: the gateway refuses them (AUTHORIZATION_CHANGED) by this mark.
    const marked = Number(await harness.store.get(authorizationChangedKey(joeId)));
    expect(marked).toBeGreaterThan(Date.now() - 60_000);
    expect(await harness.store.get(authorizationChangedKey(aliciaId))).toBeNull();
    for (const roles of [[], ['super_admin'], ['OWNER'], ['x'.repeat(10_000)], ['member', 'not-a-role']]) {
      const result = await as(alicia).gql(CHANGE, { organizationId: orgA, userId: joeId, roles });
      expect([code(result), field(result)]).toEqual(['BAD_USER_INPUT', 'roles']);
    }
  });

  it('refuses members who are not administrators, and strangers', async () => {
    expect(code(await as(joe).gql(CHANGE, { organizationId: orgA, userId: joeId, roles: ['admin'] }))).toBe(
      'FORBIDDEN',
    );
    expect(code(await as(joe).gql(REMOVE, { organizationId: orgA, userId: aliciaId }))).toBe('FORBIDDEN');
    expect(code(await as(jim).gql(CHANGE, { organizationId: orgA, userId: joeId, roles: ['admin'] }))).toBe(
      'NOT_FOUND',
    );
    expect(code(await as(jim).gql(REMOVE, { organizationId: orgA, userId: joeId }))).toBe('NOT_FOUND');
    expect(code(await as(jim).gql(LEAVE, { organizationId: orgA }))).toBe('NOT_FOUND');
    expect(code(await as(alicia).gql(REMOVE, { organizationId: orgA, userId: 'not-a-uuid' }))).toBe('NOT_FOUND');
    expect(code(await as().gql(REMOVE, { organizationId: orgA, userId: joeId }))).toBe('UNAUTHENTICATED');
  });

  it('keeps one owner: the last owner cannot leave, be removed or give up the role', async () => {
    expect(code(await as(alicia).gql(LEAVE, { organizationId: orgA }))).toBe('CONFLICT');
    expect(code(await as(alicia).gql(REMOVE, { organizationId: orgA, userId: aliciaId }))).toBe('CONFLICT');
    expect(code(await as(alicia).gql(CHANGE, { organizationId: orgA, userId: aliciaId, roles: ['admin'] }))).toBe(
      'CONFLICT',
    );
  });

  it('only owners grant the owner role; admins cannot remove owners', async () => {
    await ok(as(alicia), CHANGE_MEMBER_ROLES, { organizationId: orgA, userId: joeId, roles: ['admin'] });
    expect(code(await as(joe).gql(CHANGE, { organizationId: orgA, userId: joeId, roles: ['owner'] }))).toBe(
      'FORBIDDEN',
    );
    expect(code(await as(joe).gql(REMOVE, { organizationId: orgA, userId: aliciaId }))).toBe('FORBIDDEN');
  });

  it('two owners removing each other at once: exactly one succeeds, one owner remains', async () => {
    await ok(as(alicia), CHANGE_MEMBER_ROLES, { organizationId: orgA, userId: joeId, roles: ['owner', 'admin'] });
    const [a, b] = await Promise.all([
      as(alicia).gql(REMOVE, { organizationId: orgA, userId: joeId }),
      as(joe).gql(REMOVE, { organizationId: orgA, userId: aliciaId }),
    ]);
    // The loser is refused by the lock (CONFLICT, FORBIDDEN, NOT_FOUND once it is no member any more).
    const outcomes = [a, b].map((r) => (r.errors ? code(r) : 'OK'));
    expect(
      outcomes.filter((o) => o === 'OK'),
      JSON.stringify([a, b]),
    ).toHaveLength(1);
    expect(
      outcomes.every((o) => o === 'OK' || o === 'CONFLICT' || o === 'FORBIDDEN' || o === 'NOT_FOUND'),
      JSON.stringify([a, b]),
    ).toBe(true);
    const survivor = outcomes[0] === 'OK' ? alicia : joe;
    const members = await as(survivor).gql<{ organization: { members: { roles: string[] }[] } }>(
      'query($id: ID!) { organization(id: $id) { members { roles } } }',
      { id: orgA },
    );
    expect(members.data?.organization.members).toEqual([{ roles: expect.arrayContaining(['owner']) }]);
  });

  it('transfers ownership to a member (the old owner stays admin); only owners may', async () => {
    const org = (await ok(as(jim), CREATE_ORGANIZATION, { input: { name: 'Transfer', slug: 'transfer-co' } }))
      .createOrganization.id;
    const zed = person('zed@z.example');
    const zedId = zed.userId as string;
    await addMember(org, zedId, ['admin']);
    const TRANSFER = TRANSFER_OWNERSHIP.document;
    expect(code(await as(zed).gql(TRANSFER, { organizationId: org, userId: zedId }))).toBe('FORBIDDEN');
    expect(code(await as(alicia).gql(TRANSFER, { organizationId: org, userId: zedId }))).toBe('NOT_FOUND');
    const done = await ok(as(jim), TRANSFER_OWNERSHIP, { organizationId: org, userId: zedId });
    expect(done.transferOwnership.roles).toEqual(expect.arrayContaining(['owner', 'admin']));
    const jimNow = await as(jim).gql<{ organization: { member: { roles: string[] } } }>(
      'query($id: ID!, $u: ID!) { organization(id: $id) { member(userId: $u) { roles } } }',
      { id: org, u: jim.userId },
    );
    expect(jimNow.data?.organization.member.roles).toEqual(['admin']);
  });

  it('pages through 1,000+ members with cursors; refuses pages over 1,000', async () => {
    const org = (await ok(as(alicia), CREATE_ORGANIZATION, { input: { name: 'Big', slug: 'big-co' } }))
      .createOrganization.id;
    await harness.db.pool.query(
      `INSERT INTO organization.memberships (id, organization_id, user_id, roles, created_at)
       SELECT gen_random_uuid(), $1, gen_random_uuid(), '{member}', now() + make_interval(secs => g / 1000.0)
       FROM generate_series(1, 1200) g`,
      [org],
    );
    const PAGE =
      'query($id: ID!, $f: Int, $a: String) { organization(id: $id) { memberCount members(first: $f, after: $a) { cursor user { id } } } }';
    const first = await as(alicia).gql<{
      organization: { memberCount: number; members: { cursor: string; user: { id: string } }[] };
    }>(PAGE, { id: org, f: 1000 });
    expect(first.data?.organization.memberCount).toBe(1201);
    expect(first.data?.organization.members).toHaveLength(1000);
    const rest = await as(alicia).gql<{ organization: { members: { user: { id: string } }[] } }>(PAGE, {
      id: org,
      f: 1000,
      a: first.data?.organization.members.at(-1)?.cursor,
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
      expect(code(await as(alicia).gql(PAGE, { id: org, f, a })), `${f} ${a?.slice(0, 9)}`).toBe(expected);
    }
    expect((await as(jim).gql(PAGE, { id: org, f: 10 })).data).toEqual({ organization: null });
  });
});

describe("organization's /internal routes", () => {
  it('answer only identity (a service token signed with its key), never the gateway or a forged service', async () => {
    const joeId = person('joe.internal@a.example').userId as string;
    await addMember(orgB, joeId, ['member']);
    const post = (headers: Record<string, string>) =>
      fetch(`${harness.urls.organization}/internal/memberships`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ userIds: [joeId] }),
      });
    expect((await post({})).status).toBe(401);
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forgedKey = {
      kid: identityKey.kid,
      privateKey,
      publicKey: privateKey,
      publicJwk: {},
    } as unknown as SigningKey;
    const forged = await signServiceToken(forgedKey, 'identity', 'organization');
    expect((await post({ [SERVICE_TOKEN_HEADER]: forged, 'x-g3d-service': 'identity' })).status).toBe(401);
    expect((await post({ [SERVICE_TOKEN_HEADER]: forged, 'x-g3d-service': 'telemetry' })).status).toBe(401);
    // The gateway's own token opens the door, but this route is identity's alone.
    expect((await harness.internal('/memberships', { userIds: [joeId] })).status).toBe(403);
    // identity's real key (as identity signs it): answered, with joe's memberships.
    const real = await signServiceToken(identityKey, 'identity', 'organization');
    const answer = await post({ [SERVICE_TOKEN_HEADER]: real, 'x-g3d-service': 'identity' });
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { memberships: { organizationId: string; roles: string[] }[] };
    expect(body.memberships).toEqual([expect.objectContaining({ organizationId: orgB, roles: ['member'] })]);
    // A token for another audience is refused.
    const elsewhere = await signServiceToken(identityKey, 'identity', 'entitlement');
    expect((await post({ [SERVICE_TOKEN_HEADER]: elsewhere, 'x-g3d-service': 'identity' })).status).toBe(401);
  });
});
