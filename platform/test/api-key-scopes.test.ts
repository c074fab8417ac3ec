// API keys through the gateway act with their effective scopes (the key's scopes met with the owner's current
// roles) in their own organization only, in every subgraph: a key without scopes reads nothing of any
// organization nor the owner's account state; another organization of the owner looks like no organization; an
// organization enforcing MFA refuses a non-MFA owner's keys everywhere. And two organizations created in one
// request are both readable, while a refusal for "not the current organization" says what to do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  assignPlan,
  gql,
  type GraphQLResponse,
  invitationToken,
  registerClient,
  startTestPlatform,
  type TestClient,
  type TestPlatform,
} from './helpers.ts';

let platform: TestPlatform;
let alice: TestClient;
let orgA: string;
let orgB: string;
const url = () => platform.gatewayUrl;
const code = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.code;
const reason = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.reason;

const CREATE_ORG = 'mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { id } }';
const INVITE = 'mutation($i: InviteMemberInput!) { inviteMember(input: $i) { id } }';
const CREATE_KEY = 'mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }';
const ORGANIZATION = `query($id: ID!) {
  organization(id: $id) {
    id name billingEmail taxId
    invitations { email }
    auditLog { type }
    members { roles user { id } }
  }
}`;
const BY_SLUG = 'query($s: String!) { organizationBySlug(slug: $s) { id } }';

async function createOrganization(client: TestClient, name: string, slug: string): Promise<string> {
  const result = await gql<{ createOrganization: { id: string } }>(url(), CREATE_ORG, {
    token: client,
    variables: { i: { name, slug, billingEmail: `billing@${slug}.example`, taxId: `TAX-${slug}` } },
  });
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data.createOrganization.id;
}

/** A key created by `client` (acting in its token's current organization) with `scopes`. */
async function createKey(client: TestClient, scopes: string[]): Promise<string> {
  const result = await gql<{ createApiKey: { secret: string } }>(url(), CREATE_KEY, {
    token: client,
    variables: { i: { name: `key ${scopes.join(' ') || 'without scopes'}`, scopes } },
  });
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data.createApiKey.secret;
}

beforeAll(async () => {
  platform = await startTestPlatform();
  alice = await registerClient(url(), 'alice.keys@keys.example');
  orgA = await createOrganization(alice, 'Alpha', 'alpha-keys');
  orgB = await createOrganization(alice, 'Beta', 'beta-keys');
  for (const organizationId of [orgA, orgB]) {
    const invited = await gql(url(), INVITE, {
      token: alice,
      variables: { i: { organizationId, email: 'pending@keys.example' } },
    });
    if (invited.errors) throw new Error(JSON.stringify(invited.errors));
  }
  // A second member of Alpha, whose private fields only Alpha's administrators see.
  const mel = await registerClient(url(), 'mel.member@keys.example');
  await gql(url(), INVITE, {
    token: alice,
    variables: { i: { organizationId: orgA, email: 'mel.member@keys.example' } },
  });
  const accepted = await gql(url(), 'mutation($t: String!) { acceptInvitation(token: $t) { roles } }', {
    token: mel,
    variables: { t: await invitationToken(url(), 'mel.member@keys.example') },
  });
  if (accepted.errors) throw new Error(JSON.stringify(accepted.errors));
  // Alice's token acts in her first organization (refresh picks it: she had none at login).
  await alice.refresh();
  expect(alice.claims().org).toBe(orgA);
});
afterAll(() => platform?.close());

describe('a key created with scopes: []', () => {
  it('reads nothing of either organization of its owner, nor her email or security events', async () => {
    // Control: the owner herself reads everything of both.
    for (const id of [orgA, orgB]) {
      const own = await gql<{ organization: Record<string, unknown> }>(url(), ORGANIZATION, {
        token: alice,
        variables: { id },
      });
      expect(own.errors).toBeUndefined();
      expect(own.data?.organization.taxId).toBeTruthy();
    }
    const key = await createKey(alice, []);
    for (const id of [orgA, orgB]) {
      const asKey = await gql(url(), ORGANIZATION, { token: key, variables: { id } });
      expect(asKey.data, id).toEqual({ organization: null });
    }
    for (const s of ['alpha-keys', 'beta-keys']) {
      expect((await gql(url(), BY_SLUG, { token: key, variables: { s } })).data).toEqual({ organizationBySlug: null });
    }
    // The owner's public profile, nothing more.
    const me = await gql<{ me: Record<string, unknown> }>(
      url(),
      '{ me { id displayName email emailVerified mfaEnabled createdAt lastLoginAt preferences { theme } organizations { id } memberships { roles } } }',
      { token: key },
    );
    expect(me.data?.me).toMatchObject({
      displayName: expect.any(String),
      email: null,
      emailVerified: null,
      mfaEnabled: null,
      createdAt: null,
      lastLoginAt: null,
      preferences: null,
      organizations: null,
      memberships: null,
    });
    const refused = new Set(me.errors?.map((e) => e.path?.at(-1)));
    for (const field of ['email', 'emailVerified', 'mfaEnabled', 'organizations', 'memberships', 'preferences'])
      expect(refused, field).toContain(field);
    expect(me.errors?.every((e) => e.extensions?.code === 'FORBIDDEN')).toBe(true);
    const audit = await gql(url(), '{ myAuditEvents { events { type ip } } }', { token: key });
    expect(code(audit)).toBe('FORBIDDEN');
    expect(audit.data).toBeNull();
  });
});

describe('a key acts only in its organization, by its scopes', () => {
  it('org:read and org:admin: everything of its organization; the owner’s other organization looks like none', async () => {
    const key = await createKey(alice, ['org:read', 'org:admin']);
    const own = await gql<{ organization: { taxId: string; invitations: unknown[]; auditLog: unknown[] } }>(
      url(),
      ORGANIZATION,
      { token: key, variables: { id: orgA } },
    );
    expect(own.errors).toBeUndefined();
    expect(own.data?.organization.taxId).toBe('TAX-alpha-keys');
    expect(own.data?.organization.invitations).toHaveLength(1);
    expect(own.data?.organization.auditLog.length).toBeGreaterThan(0);
    expect(await gql(url(), ORGANIZATION, { token: key, variables: { id: orgB } })).toMatchObject({
      data: { organization: null },
    });
    expect((await gql(url(), BY_SLUG, { token: key, variables: { s: 'beta-keys' } })).data).toEqual({
      organizationBySlug: null,
    });
    // Its owner's organizations and memberships: the key's organization only.
    const mine = await gql<{
      me: { email: string; organizations: { id: string }[]; memberships: { roles: string[] }[] };
    }>(url(), '{ me { email organizations { id } memberships { roles organization { id } } } }', { token: key });
    expect(mine.errors).toBeUndefined();
    expect(mine.data?.me.email).toBe('alice.keys@keys.example');
    expect(mine.data?.me.organizations).toEqual([{ id: orgA }]);
    expect(mine.data?.me.memberships).toHaveLength(1);
    // Members' private fields are for administrators of the key's organization.
    const members = await gql<{ organization: { members: { user: { email: string } }[] } }>(
      url(),
      'query($id: ID!) { organization(id: $id) { members { user { email } } } }',
      { token: key, variables: { id: orgA } },
    );
    expect(members.errors).toBeUndefined();
    expect(members.data?.organization.members.map((m) => m.user.email)).toEqual([
      'alice.keys@keys.example',
      'mel.member@keys.example',
    ]);
    // Still not a person: no security events, no organization changes.
    expect(code(await gql(url(), '{ myAuditEvents { events { type } } }', { token: key }))).toBe('FORBIDDEN');
    const rename = await gql(url(), 'mutation($id: ID!) { updateOrganization(id: $id, input: { name: "x" }) { id } }', {
      token: key,
      variables: { id: orgA },
    });
    expect(code(rename)).toBe('FORBIDDEN');
  });

  it('org:read alone: member-level fields; billing, invitations and the audit log need org:admin', async () => {
    const key = await createKey(alice, ['org:read']);
    const read = (fields: string) =>
      gql<{ organization: Record<string, unknown> | null }>(
        url(),
        `query($id: ID!) { organization(id: $id) { ${fields} } }`,
        {
          token: key,
          variables: { id: orgA },
        },
      );
    const members = await read('id name members { roles user { id } }');
    expect(members.errors).toBeUndefined();
    expect(members.data?.organization).toMatchObject({
      id: orgA,
      name: 'Alpha',
      members: [
        { roles: expect.arrayContaining(['owner']), user: { id: expect.any(String) } },
        { roles: ['member'], user: { id: expect.any(String) } },
      ],
    });
    const billing = await read('name billingEmail taxId');
    expect(billing.data?.organization).toEqual({ name: 'Alpha', billingEmail: null, taxId: null });
    expect(billing.errors?.map((e) => [e.path?.at(-1), e.extensions?.code, e.extensions?.reason])).toEqual([
      ['billingEmail', 'FORBIDDEN', 'MISSING_SCOPE'],
      ['taxId', 'FORBIDDEN', 'MISSING_SCOPE'],
    ]);
    // Non-null lists: refusing them nulls the organization they belong to.
    for (const field of ['invitations { email }', 'auditLog { type }']) {
      const refused = await read(field);
      expect(refused.data, field).toEqual({ organization: null });
      expect([code(refused), reason(refused)], field).toEqual(['FORBIDDEN', 'MISSING_SCOPE']);
    }
    // Other members' private fields need org:admin; its owner's own account state needs org:read.
    const privateFields = await gql<{ organization: { members: { user: { email: string | null } }[] } }>(
      url(),
      'query($id: ID!) { organization(id: $id) { members { user { email } } } }',
      { token: key, variables: { id: orgA } },
    );
    expect(privateFields.data?.organization.members.map((m) => m.user.email)).toEqual([
      'alice.keys@keys.example',
      null,
    ]);
    expect(privateFields.errors?.map((e) => [e.path?.at(-1), e.extensions?.code])).toEqual([['email', 'FORBIDDEN']]);
    expect((await gql(url(), '{ me { email } }', { token: key })).data).toEqual({
      me: { email: 'alice.keys@keys.example' },
    });
  });
});

describe('the organization MFA policy', () => {
  it('refuses every field to the key of an owner without MFA once the key’s organization enforces MFA', async () => {
    const bob = await registerClient(url(), 'bob.keys@keys.example');
    const strict = await createOrganization(bob, 'Strict', 'strict-keys');
    await bob.refresh();
    expect(bob.claims().org).toBe(strict);
    const key = await createKey(bob, ['org:read']);
    expect(
      (
        await gql(url(), 'query($id: ID!) { organization(id: $id) { name } }', {
          token: key,
          variables: { id: strict },
        })
      ).data,
    ).toEqual({
      organization: { name: 'Strict' },
    });
    const enforced = await gql(
      url(),
      'mutation($id: ID!) { updateOrganization(id: $id, input: { settings: { enforceMfa: true } }) { id } }',
      { token: bob, variables: { id: strict } },
    );
    expect(enforced.errors).toBeUndefined();
    // The enrolment path a person keeps (`me`) is closed to a key: it cannot enrol.
    for (const query of [
      '{ me { id } }',
      `{ organization(id: "${strict}") { name } }`,
      '{ codeForge { slug } }',
      '{ plans { id } }',
    ]) {
      const result = await gql(url(), query, { token: key });
      expect([code(result), reason(result)], query).toEqual(['MFA_REQUIRED', 'MFA_ENROLMENT_REQUIRED']);
      expect(
        result.errors?.every((e) => e.extensions?.code === 'MFA_REQUIRED'),
        query,
      ).toBe(true);
    }
    // Alice's keys (her organization does not enforce MFA) are not affected.
    const alicesKey = await createKey(alice, ['org:read']);
    expect((await gql(url(), '{ me { id } }', { token: alicesKey })).errors).toBeUndefined();
  });
});

describe('several organizations in one request', () => {
  it('two createOrganization in one request are both readable; a refusal for another organization names switchOrganization', async () => {
    const carol = await registerClient(url(), 'carol.keys@keys.example');
    const both = await gql<{ a: { id: string; name: string }; b: { id: string; name: string } }>(
      url(),
      `mutation {
        a: createOrganization(input: { name: "First", slug: "carol-first" }) { id name slug memberCount members { roles } }
        b: createOrganization(input: { name: "Second", slug: "carol-second" }) { id name slug memberCount members { roles } }
      }`,
      { token: carol },
    );
    expect(both.errors).toBeUndefined();
    expect(both.data?.a).toMatchObject({
      name: 'First',
      memberCount: 1,
      members: [{ roles: expect.arrayContaining(['owner']) }],
    });
    expect(both.data?.b).toMatchObject({
      name: 'Second',
      memberCount: 1,
      members: [{ roles: expect.arrayContaining(['owner']) }],
    });
    const [first, second] = [both.data?.a.id as string, both.data?.b.id as string];

    // Her token was issued before she had any organization: it holds no scope in them, and the refusal says how
    // to get one.
    const refused = await gql(url(), '{ codeForge { slug } }', { token: carol });
    expect([code(refused), reason(refused)]).toEqual(['FORBIDDEN', 'SWITCH_ORGANIZATION']);
    expect(refused.errors?.[0]?.message).toContain('switchOrganization');
    expect(refused.errors?.[0]?.message).toContain('refreshTokens');
    const switched = await gql<{ switchOrganization: { accessToken: string; organizationId: string } }>(
      url(),
      'mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken organizationId } }',
      { token: carol, variables: { o: second } },
    );
    expect(switched.data?.switchOrganization.organizationId).toBe(second);
    carol.accessToken = switched.data?.switchOrganization.accessToken as string;
    await assignPlan(url(), second); // Code Forge is on the professional plan, not on free
    expect((await gql(url(), '{ codeForge { slug } }', { token: carol })).errors).toBeUndefined();
    // Both organizations stay readable to her (organization reads memberships, not the token).
    for (const id of [first, second]) {
      const read = await gql(url(), 'query($id: ID!) { organization(id: $id) { name } }', {
        token: carol,
        variables: { id },
      });
      expect(read.errors, id).toBeUndefined();
    }

    // A scope her role in the current organization does not grant: the refusal names the way out too.
    const dave = await registerClient(url(), 'dave.keys@keys.example');
    const davesOrg = await createOrganization(dave, 'Dave', 'dave-keys');
    const invited = await gql(url(), INVITE, {
      token: dave,
      variables: { i: { organizationId: davesOrg, email: 'carol.keys@keys.example', roles: ['member'] } },
    });
    expect(invited.errors).toBeUndefined();
    const token = await invitationToken(url(), 'carol.keys@keys.example');
    expect(
      (
        await gql(url(), 'mutation($t: String!) { acceptInvitation(token: $t) { roles } }', {
          token: carol,
          variables: { t: token },
        })
      ).errors,
    ).toBeUndefined();
    const asMember = await gql<{ switchOrganization: { accessToken: string } }>(
      url(),
      'mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken } }',
      { token: carol, variables: { o: davesOrg } },
    );
    carol.accessToken = asMember.data?.switchOrganization.accessToken as string;
    const missing = await gql(url(), '{ codeForge { slug } }', { token: carol });
    expect([code(missing), reason(missing)]).toEqual(['FORBIDDEN', 'MISSING_SCOPE']);
    expect(missing.errors?.[0]?.message).toContain('switchOrganization');
  });
});
