// Access across subgraphs, through the gateway: the scopes in the access token (identity asks organization for
// the caller's memberships) decide what an AI subgraph allows; switching organization changes that; a role change
// takes effect at the gateway at once (AUTHORIZATION_CHANGED, then a refresh); an organization's MFA policy
// confines members without MFA to the enrolment path; API keys never exceed their owner's current scopes; a
// member's private fields (identity's, asked for by organization's member list) only for administrators. What
// identity and organization do with their input is tested on the subgraph harness (subgraphs/*/test).
import { scopesForRoles } from '@g3d/auth';
import { generateTotp } from '@g3d/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  assignPlan,
  DEFAULT_PASSWORD,
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
let joe: TestClient;
let orgA: string;
let orgA2: string;
let joeId: string;
const url = () => platform.gatewayUrl;
const code = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.code;
const reason = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.reason;

const CREATE = 'mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { id } }';
const INVITE = 'mutation($i: InviteMemberInput!) { inviteMember(input: $i) { id } }';
const ACCEPT = 'mutation($t: String!) { acceptInvitation(token: $t) { roles } }';
const SWITCH =
  'mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken tokenType expiresIn organizationId } }';
const CHANGE =
  'mutation($o: ID!, $u: ID!, $r: [String!]!) { changeMemberRoles(organizationId: $o, userId: $u, roles: $r) { roles } }';
const CODE_FORGE = '{ codeForge { slug } }';

async function invite(owner: TestClient, organizationId: string, who: TestClient, email: string, roles: string[]) {
  await gql(url(), INVITE, { token: owner, variables: { i: { organizationId, email, roles } } });
  const token = await invitationToken(url(), email);
  const accepted = await gql(url(), ACCEPT, { token: who, variables: { t: token } });
  if (accepted.errors) throw new Error(JSON.stringify(accepted.errors));
}

async function switchTo(client: TestClient, organizationId: string) {
  const result = await gql<{ switchOrganization: { accessToken: string; organizationId: string } }>(url(), SWITCH, {
    token: client,
    variables: { o: organizationId },
  });
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  client.accessToken = result.data.switchOrganization.accessToken;
}

beforeAll(async () => {
  platform = await startTestPlatform();
  [alice, joe] = await Promise.all([
    registerClient(url(), 'alice.owner@a.example'),
    registerClient(url(), 'joe@a.example'),
  ]);
  orgA = (
    await gql<{ createOrganization: { id: string } }>(url(), CREATE, {
      token: alice,
      variables: { i: { name: 'A', slug: 'org-a' } },
    })
  ).data?.createOrganization.id as string;
  orgA2 = (
    await gql<{ createOrganization: { id: string } }>(url(), CREATE, {
      token: alice,
      variables: { i: { name: 'A2', slug: 'org-a2' } },
    })
  ).data?.createOrganization.id as string;
  // Code Forge (the probe of these tests) is on the professional plan, not on free.
  await Promise.all([assignPlan(url(), orgA), assignPlan(url(), orgA2)]);
  await invite(alice, orgA, joe, 'joe@a.example', ['developer']);
  await invite(alice, orgA2, joe, 'joe@a.example', ['analyst']);
  joeId = (await gql<{ me: { id: string } }>(url(), '{ me { id } }', { token: joe })).data?.me.id as string;
});
afterAll(() => platform?.close());

describe('the current organization in the token', () => {
  it('login picks the first organization; the token carries its roles and their scopes (RBAC model)', async () => {
    await joe.refresh();
    const claims = joe.claims();
    expect(claims.org).toBe(orgA);
    expect(claims.roles).toEqual(expect.arrayContaining(['user', 'developer']));
    expect((claims.scope as string).split(' ')).toEqual(scopesForRoles(['developer']));
    expect(claims.scope).toContain('code:read');
    expect(claims.email).toBe('joe@a.example');
    expect((await gql(url(), CODE_FORGE, { token: joe })).errors).toBeUndefined();
  });

  it('switching issues a token for the other organization (its scopes only); refresh keeps it', async () => {
    await switchTo(joe, orgA2);
    expect(joe.claims().org).toBe(orgA2);
    expect((joe.claims().scope as string).split(' ')).toEqual(scopesForRoles(['analyst']));
    expect(code(await gql(url(), CODE_FORGE, { token: joe }))).toBe('FORBIDDEN');
    await joe.refresh();
    expect(joe.claims().org).toBe(orgA2);
    await switchTo(joe, orgA);
    expect(joe.claims().org).toBe(orgA);
  });

  it('a role change takes effect at once: the old token is refused (AUTHORIZATION_CHANGED), a refresh gets the new scopes', async () => {
    const old = joe.accessToken;
    await gql(url(), CHANGE, { token: alice, variables: { o: orgA, u: joeId, r: ['analyst'] } });
    const refused = await gql(url(), CODE_FORGE, { token: old });
    expect([refused.status, code(refused), reason(refused)]).toEqual([401, 'UNAUTHENTICATED', 'AUTHORIZATION_CHANGED']);
    await joe.refresh();
    expect(joe.claims().scope).not.toContain('code:read');
    expect(code(await gql(url(), CODE_FORGE, { token: joe }))).toBe('FORBIDDEN');
    await gql(url(), CHANGE, { token: alice, variables: { o: orgA, u: joeId, r: ['developer'] } });
    await joe.refresh();
    expect((await gql(url(), CODE_FORGE, { token: joe })).errors).toBeUndefined();
  });
});

describe("members' private fields", () => {
  it("organization administrators see their members' email and MFA state; members and strangers do not", async () => {
    await alice.refresh();
    expect(alice.claims().org).toBe(orgA);
    const MEMBERS = 'query($id: ID!) { organization(id: $id) { members { user { id email mfaEnabled } } } }';
    const asAdmin = await gql<{ organization: { members: { user: { id: string; email: string } }[] } }>(
      url(),
      MEMBERS,
      {
        token: alice,
        variables: { id: orgA },
      },
    );
    expect(asAdmin.errors).toBeUndefined();
    expect(asAdmin.data?.organization.members.map((m) => m.user.email).sort()).toEqual([
      'alice.owner@a.example',
      'joe@a.example',
    ]);
    const asDeveloper = await gql(url(), MEMBERS, { token: joe, variables: { id: orgA } });
    // joe sees his own email, not alice's.
    const denied = asDeveloper.errors?.filter((e) => e.extensions?.code === 'FORBIDDEN').map((e) => e.path?.at(-1));
    expect(denied).toContain('email');
    expect(JSON.stringify(asDeveloper.data)).not.toContain('alice.owner@');
  });
});

describe('API keys', () => {
  it('act with their own scopes, never more than the owner holds now', async () => {
    const created = await gql<{ createApiKey: { secret: string } }>(
      url(),
      'mutation { createApiKey(input: { name: "ci", scopes: ["code:read"] }) { secret } }',
      { token: joe },
    );
    const key = created.data?.createApiKey.secret as string;
    expect((await gql(url(), CODE_FORGE, { token: key })).errors).toBeUndefined();
    const tooMuch = await gql(
      url(),
      'mutation { createApiKey(input: { name: "x", scopes: ["finance:read"] }) { secret } }',
      {
        token: joe,
      },
    );
    expect(code(tooMuch)).toBe('FORBIDDEN');
    // joe loses the developer role: his key loses code:read at once (despite the gateway's verification cache).
    await gql(url(), CHANGE, { token: alice, variables: { o: orgA, u: joeId, r: ['analyst'] } });
    expect(code(await gql(url(), CODE_FORGE, { token: key }))).toBe('FORBIDDEN');
    await gql(url(), CHANGE, { token: alice, variables: { o: orgA, u: joeId, r: ['developer'] } });
    expect((await gql(url(), CODE_FORGE, { token: key })).errors).toBeUndefined();
  });
});

describe('the organization MFA policy', () => {
  it('confines members without MFA to the enrolment path until they enrol', async () => {
    const mia = await registerClient(url(), 'mia@a.example');
    await invite(alice, orgA, mia, 'mia@a.example', ['member']);
    await mia.refresh();
    expect(mia.claims().org).toBe(orgA);
    await gql(
      url(),
      'mutation($id: ID!) { updateOrganization(id: $id, input: { settings: { enforceMfa: true } }) { id } }',
      {
        token: alice,
        variables: { id: orgA },
      },
    );
    // mia's next request refreshes (AUTHORIZATION_CHANGED) and gets a token marked for MFA set-up.
    const blocked = await gql(url(), 'query($id: ID!) { organization(id: $id) { name } }', {
      token: mia,
      variables: { id: orgA },
    });
    expect([code(blocked), reason(blocked)]).toEqual(['MFA_REQUIRED', 'MFA_ENROLMENT_REQUIRED']);
    expect(mia.claims().mfa_setup_required).toBe(true);
    for (const query of ['{ mySessions { id } }', '{ me { organizations { id } } }', '{ myDataExport }']) {
      const result = await gql(url(), query, { token: mia });
      expect(
        result.errors?.map((e) => e.extensions?.code),
        query,
      ).toContain('MFA_REQUIRED');
    }
    const rename = await gql(url(), 'mutation { updateProfile(input: { displayName: "x" }) { id } }', { token: mia });
    expect(code(rename)).toBe('MFA_REQUIRED');
    // The enrolment path stays open.
    expect((await gql(url(), '{ me { id email mfaEnabled } }', { token: mia })).errors).toBeUndefined();
    const begin = await gql<{ beginMfaEnrollment: { secret: string } }>(
      url(),
      'mutation($p: String!) { beginMfaEnrollment(password: $p) { secret } }',
      { token: mia, variables: { p: DEFAULT_PASSWORD } },
    );
    const secret = begin.data?.beginMfaEnrollment.secret as string;
    const confirmed = await gql(url(), 'mutation($c: String!) { confirmMfaEnrollment(code: $c) { codes } }', {
      token: mia,
      variables: { c: await generateTotp({ secret }) },
    });
    expect(confirmed.errors).toBeUndefined();
    await mia.refresh();
    expect(mia.claims().mfa_setup_required).toBeUndefined();
    const open = await gql(url(), 'query($id: ID!) { organization(id: $id) { name } }', {
      token: mia,
      variables: { id: orgA },
    });
    expect(open.data).toEqual({ organization: { name: 'A' } });
    await gql(
      url(),
      'mutation($id: ID!) { updateOrganization(id: $id, input: { settings: { enforceMfa: false } }) { id } }',
      {
        token: alice,
        variables: { id: orgA },
      },
    );
  });
});
