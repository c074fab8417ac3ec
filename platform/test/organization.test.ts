// Organizations: create (the creator becomes owner), validated slugs, update by owners/admins only, and
// tenants that cannot see each other (alicia owns A, jim owns B; the seeded platform admin is not involved).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  gql,
  type GraphQLResponse,
  registerClient,
  startTestPlatform,
  type TestClient,
  type TestPlatform,
} from './helpers.ts';

let platform: TestPlatform;
let alice: TestClient;
let jim: TestClient;
let orgA: string;
let orgB: string;
const url = () => platform.gatewayUrl;

const CREATE =
  'mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { id slug name settings { enforceMfa dataRetentionDays } members { roles } } }';
const UPDATE =
  'mutation($id: ID!, $i: UpdateOrganizationInput!) { updateOrganization(id: $id, input: $i) { id name description settings { allowedEmailDomains dataRetentionDays } } }';
const code = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.code;
const field = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.field;

beforeAll(async () => {
  platform = await startTestPlatform();
  [alice, jim] = await Promise.all([registerClient(url(), 'alicia@a.example'), registerClient(url(), 'jim@b.example')]);
  const a = await gql<{ createOrganization: { id: string } }>(url(), CREATE, {
    token: alice,
    variables: { i: { name: 'Acme', slug: 'acme' } },
  });
  const b = await gql<{ createOrganization: { id: string } }>(url(), CREATE, {
    token: jim,
    variables: { i: { name: 'Bolt', slug: 'bolt' } },
  });
  orgA = a.data?.createOrganization.id as string;
  orgB = b.data?.createOrganization.id as string;
});
afterAll(() => platform?.close());

describe('organizations', () => {
  it('makes the creator the owner, with default settings', async () => {
    const result = await gql<{
      organizationBySlug: {
        id: string;
        members: { roles: string[] }[];
        settings: { enforceMfa: boolean; dataRetentionDays: number };
      };
    }>(
      url(),
      '{ organizationBySlug(slug: "acme") { id members { roles } settings { enforceMfa dataRetentionDays } } }',
      { token: alice },
    );
    expect(result.data?.organizationBySlug).toEqual({
      id: orgA,
      members: [{ roles: ['owner', 'admin'] }],
      settings: { enforceMfa: false, dataRetentionDays: 365 },
    });
    const mine = await gql<{ me: { organizations: { slug: string }[] } }>(url(), '{ me { organizations { slug } } }', {
      token: alice,
    });
    expect(mine.data?.me.organizations).toEqual([{ slug: 'acme' }]);
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
      const result = await gql(url(), CREATE, { token: alice, variables: { i: { name: 'X', slug } } });
      expect([code(result), field(result)], slug).toEqual(['BAD_USER_INPUT', 'slug']);
    }
    const taken = await gql(url(), CREATE, { token: alice, variables: { i: { name: 'Other', slug: 'bolt' } } });
    expect([code(taken), field(taken)]).toEqual(['CONFLICT', 'slug']);
    const concurrent = await Promise.all(
      Array.from({ length: 5 }, () =>
        gql(url(), CREATE, { token: alice, variables: { i: { name: 'Race', slug: 'race-slug' } } }),
      ),
    );
    expect(concurrent.filter((r) => !r.errors)).toHaveLength(1);
    expect(concurrent.filter((r) => code(r) === 'CONFLICT')).toHaveLength(4);
    for (const name of ['', '   ', 'n'.repeat(10_000), 'bad\u0007name', '\ud800']) {
      const result = await gql(url(), CREATE, { token: alice, variables: { i: { name, slug: 'fresh-slug' } } });
      expect([code(result), field(result)]).toEqual(['BAD_USER_INPUT', 'name']);
    }
    const website = await gql(url(), CREATE, {
      token: alice,
      variables: { i: { name: 'W', slug: 'fresh-slug', website: 'javascript:alert(1)' } },
    });
    expect([code(website), field(website)]).toEqual(['BAD_USER_INPUT', 'website']);
    // None of the refused attempts left an organization behind.
    const mine = await gql<{ me: { organizations: { slug: string }[] } }>(url(), '{ me { organizations { slug } } }', {
      token: alice,
    });
    expect(mine.data?.me.organizations.map((o) => o.slug).sort()).toEqual(['acme', 'race-slug']);
  });

  it('lets owners update the profile and settings; validates the whole input before writing', async () => {
    const ok = await gql<{
      updateOrganization: { name: string; settings: { allowedEmailDomains: string[]; enforceMfa: boolean } };
    }>(url(), UPDATE, {
      token: alice,
      variables: {
        id: orgA,
        i: { name: 'Acme Inc', settings: { dataRetentionDays: 90, allowedEmailDomains: ['A.example', 'a.example'] } },
      },
    });
    expect(ok.data?.updateOrganization).toMatchObject({
      name: 'Acme Inc',
      settings: { dataRetentionDays: 90, allowedEmailDomains: ['a.example'] },
    });
    const bad = await gql(url(), UPDATE, {
      token: alice,
      variables: { id: orgA, i: { name: 'Should not stick', settings: { dataRetentionDays: 0 } } },
    });
    expect([code(bad), field(bad)]).toEqual(['BAD_USER_INPUT', 'dataRetentionDays']);
    const domains = await gql(url(), UPDATE, {
      token: alice,
      variables: { id: orgA, i: { settings: { allowedEmailDomains: ['not a domain'] } } },
    });
    expect([code(domains), field(domains)]).toEqual(['BAD_USER_INPUT', 'allowedEmailDomains']);
    const after = await gql<{ organization: { name: string } }>(
      url(),
      'query($id: ID!) { organization(id: $id) { name } }',
      { token: alice, variables: { id: orgA } },
    );
    expect(after.data?.organization.name).toBe('Acme Inc');
  });

  it('keeps tenants apart: jim cannot read or change anything of A', async () => {
    const byId = await gql(url(), 'query($id: ID!) { organization(id: $id) { id name } }', {
      token: jim,
      variables: { id: orgA },
    });
    expect(byId.data).toEqual({ organization: null });
    const bySlug = await gql(url(), '{ organizationBySlug(slug: "acme") { id } }', { token: jim });
    expect(bySlug.data).toEqual({ organizationBySlug: null });
    const update = await gql(url(), UPDATE, { token: jim, variables: { id: orgA, i: { name: 'Pwned' } } });
    expect(code(update)).toBe('NOT_FOUND');
    const missing = await gql(url(), UPDATE, {
      token: jim,
      variables: { id: '00000000-0000-4000-8000-000000000000', i: { name: 'X' } },
    });
    expect(missing.errors?.[0]).toEqual(expect.objectContaining({ message: update.errors?.[0]?.message }));
    const garbage = await gql(url(), 'query($id: ID!) { organization(id: $id) { id } }', {
      token: jim,
      variables: { id: 'not-a-uuid' },
    });
    expect(garbage.data).toEqual({ organization: null });
    const own = await gql<{ organization: { name: string } }>(
      url(),
      'query($id: ID!) { organization(id: $id) { name } }',
      { token: jim, variables: { id: orgB } },
    );
    expect(own.data?.organization.name).toBe('Bolt');
  });

  it('requires a signed-in person: anonymous callers and API keys cannot create organizations', async () => {
    const anonymous = await gql(url(), CREATE, { variables: { i: { name: 'Anon', slug: 'anon-org' } } });
    expect(code(anonymous)).toBe('UNAUTHENTICATED');
    const key = await gql<{ createApiKey: { secret: string } }>(
      url(),
      'mutation { createApiKey(input: { name: "bot" }) { secret } }',
      { token: alice },
    );
    const viaKey = await gql(url(), CREATE, {
      token: key.data?.createApiKey.secret,
      variables: { i: { name: 'Bot', slug: 'bot-org' } },
    });
    expect(code(viaKey)).toBe('FORBIDDEN');
  });
});

describe('memberships', () => {
  let joe: TestClient;
  let joeId: string;
  let aliciaId: string;
  const CHANGE =
    'mutation($o: ID!, $u: ID!, $r: [String!]!) { changeMemberRoles(organizationId: $o, userId: $u, roles: $r) { roles } }';
  const REMOVE = 'mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }';
  const LEAVE = 'mutation($o: ID!) { leaveOrganization(organizationId: $o) }';
  const meId = async (token: TestClient) =>
    (await gql<{ me: { id: string } }>(url(), '{ me { id } }', { token })).data?.me.id as string;

  beforeAll(async () => {
    joe = await registerClient(url(), 'joe@a.example');
    [joeId, aliciaId] = await Promise.all([meId(joe), meId(alice)]);
    // Invitations come later: seed joe into A as a developer directly.
    const db = new pg.Client({ connectionString: platform.databaseUrl });
    await db.connect();
    await db.query(
      `INSERT INTO organization.memberships (id, organization_id, user_id, roles) VALUES (gen_random_uuid(), $1, $2, '{developer}')`,
      [orgA, joeId],
    );
    await db.end();
  });

  it('lets the owner change roles; refuses unknown, platform and empty role lists', async () => {
    const changed = await gql(url(), CHANGE, {
      token: alice,
      variables: { o: orgA, u: joeId, r: ['developer', 'analyst'] },
    });
    expect(changed.data).toEqual({ changeMemberRoles: { roles: ['developer', 'analyst'] } });
    for (const roles of [[], ['super_admin'], ['OWNER'], ['x'.repeat(10_000)], ['member', 'not-a-role']]) {
      const result = await gql(url(), CHANGE, { token: alice, variables: { o: orgA, u: joeId, r: roles } });
      expect([code(result), field(result)]).toEqual(['BAD_USER_INPUT', 'roles']);
    }
  });

  it('refuses members who are not administrators, and strangers', async () => {
    expect(code(await gql(url(), CHANGE, { token: joe, variables: { o: orgA, u: joeId, r: ['admin'] } }))).toBe(
      'FORBIDDEN',
    );
    expect(code(await gql(url(), REMOVE, { token: joe, variables: { o: orgA, u: aliciaId } }))).toBe('FORBIDDEN');
    expect(code(await gql(url(), CHANGE, { token: jim, variables: { o: orgA, u: joeId, r: ['admin'] } }))).toBe(
      'NOT_FOUND',
    );
    expect(code(await gql(url(), REMOVE, { token: jim, variables: { o: orgA, u: joeId } }))).toBe('NOT_FOUND');
    expect(code(await gql(url(), LEAVE, { token: jim, variables: { o: orgA } }))).toBe('NOT_FOUND');
    expect(code(await gql(url(), REMOVE, { token: alice, variables: { o: orgA, u: 'not-a-uuid' } }))).toBe('NOT_FOUND');
  });

  it('keeps one owner: the last owner cannot leave, be removed or give up the role', async () => {
    expect(code(await gql(url(), LEAVE, { token: alice, variables: { o: orgA } }))).toBe('CONFLICT');
    expect(code(await gql(url(), REMOVE, { token: alice, variables: { o: orgA, u: aliciaId } }))).toBe('CONFLICT');
    expect(code(await gql(url(), CHANGE, { token: alice, variables: { o: orgA, u: aliciaId, r: ['admin'] } }))).toBe(
      'CONFLICT',
    );
  });

  it('only owners grant the owner role; admins cannot remove owners', async () => {
    await gql(url(), CHANGE, { token: alice, variables: { o: orgA, u: joeId, r: ['admin'] } });
    expect(code(await gql(url(), CHANGE, { token: joe, variables: { o: orgA, u: joeId, r: ['owner'] } }))).toBe(
      'FORBIDDEN',
    );
    expect(code(await gql(url(), REMOVE, { token: joe, variables: { o: orgA, u: aliciaId } }))).toBe('FORBIDDEN');
  });

  it('two owners removing each other at once: exactly one succeeds, one owner remains', async () => {
    await gql(url(), CHANGE, { token: alice, variables: { o: orgA, u: joeId, r: ['owner', 'admin'] } });
    await joe.refresh();
    const [a, b] = await Promise.all([
      gql(url(), REMOVE, { token: alice, variables: { o: orgA, u: joeId } }),
      gql(url(), REMOVE, { token: joe, variables: { o: orgA, u: aliciaId } }),
    ]);
    // The loser is refused by the lock (CONFLICT, FORBIDDEN, NOT_FOUND) or, once removed, at the gateway: its
    // token predates the removal (UNAUTHENTICATED, reason AUTHORIZATION_CHANGED).
    const outcomes = [a, b].map((r) => (r.errors ? code(r) : 'OK'));
    expect(
      outcomes.filter((o) => o === 'OK'),
      JSON.stringify([a, b]),
    ).toHaveLength(1);
    expect(
      outcomes.every(
        (o) => o === 'OK' || o === 'CONFLICT' || o === 'FORBIDDEN' || o === 'NOT_FOUND' || o === 'UNAUTHENTICATED',
      ),
      JSON.stringify([a, b]),
    ).toBe(true);
    const survivor = outcomes[0] === 'OK' ? alice : joe;
    const members = await gql<{ organization: { members: { roles: string[] }[] } }>(
      url(),
      'query($id: ID!) { organization(id: $id) { members { roles } } }',
      {
        token: survivor,
        variables: { id: orgA },
      },
    );
    expect(members.data?.organization.members).toEqual([{ roles: expect.arrayContaining(['owner']) }]);
  });
});
