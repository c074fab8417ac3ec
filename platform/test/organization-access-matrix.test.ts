// The tenancy matrix, generated from the supergraph: every query and mutation the organization subgraph owns,
// every field of Organization, and organization's fields of User, tried as alice (owner of A), joe (developer in
// A), jim (owner of B) and an anonymous caller — through the gateway, and through `_entities` straight at the
// subgraph with the gateway token the gateway would mint for that caller. A field or operation added to the
// supergraph without an expectation here fails the test.
import fs from 'node:fs';
import path from 'node:path';

import { ANONYMOUS, type Caller, GATEWAY_TOKEN_HEADER, loadOrCreateSigningKey, signGatewayToken } from '@g3d/auth';
import {
  buildSchema,
  type ConstArgumentNode,
  getNamedType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  isLeafType,
  isObjectType,
  Kind,
} from 'graphql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  assignPlan,
  gql,
  type GraphQLResponse,
  invitationToken,
  registerAccount,
  registerClient,
  signIn,
  startTestPlatform,
  type TestClient,
  type TestPlatform,
} from './helpers.ts';

type Actor = 'alice' | 'joe' | 'jim' | 'anonymous';
const ACTORS: Actor[] = ['anonymous', 'jim', 'joe', 'alice'];
/** 'ok': data, no error; 'hidden': null without an error (strangers cannot tell it exists); else the error code. */
type Outcome = 'ok' | 'hidden' | string;

const GRAPH = 'ORGANIZATION';
const supergraph = buildSchema(
  fs.readFileSync(path.resolve(import.meta.dirname, '../../schema/supergraph.graphql'), 'utf8'),
);

const joinArgument = (args: readonly ConstArgumentNode[] | undefined, name: string) => {
  const value = args?.find((a) => a.name.value === name)?.value;
  return value?.kind === Kind.ENUM ? value.value : undefined;
};

/** Fields of `type` that the organization subgraph resolves (per the supergraph's join directives). */
function ownedFields(type: GraphQLObjectType): GraphQLField<unknown, unknown>[] {
  const typeGraphs = (type.astNode?.directives ?? [])
    .filter((d) => d.name.value === 'join__type')
    .map((d) => joinArgument(d.arguments, 'graph'));
  return Object.values(type.getFields()).filter((field) => {
    const joins = (field.astNode?.directives ?? []).filter((d) => d.name.value === 'join__field');
    if (joins.length > 0) return joins.some((d) => joinArgument(d.arguments, 'graph') === GRAPH);
    return typeGraphs.length === 1 && typeGraphs[0] === GRAPH;
  });
}

/** The scalar and enum fields of a type: the selection the matrix asks for. */
function leaves(type: GraphQLNamedType): string {
  if (!isObjectType(type)) return '';
  const names = Object.values(type.getFields())
    .filter((f) => isLeafType(getNamedType(f.type)) && !f.args.some((a) => a.type.toString().endsWith('!')))
    .map((f) => f.name);
  return `{ ${names.join(' ')} }`;
}

const rootFields = (type: GraphQLObjectType | null | undefined) =>
  type
    ? ownedFields(type)
        .map((f) => f.name)
        .sort()
    : [];

let platform: TestPlatform;
let db: pg.Client;
const clients: Partial<Record<Actor, TestClient>> = {};
const ids = { orgA: '', slugA: 'matrix-a', aliceId: '', joeId: '', jimId: '' };
let counter = 0;
const url = () => platform.gatewayUrl;
const tokenOf = (actor: Actor) => (actor === 'anonymous' ? undefined : clients[actor]);

function outcome(result: GraphQLResponse, rootField: string): Outcome {
  const code = result.errors?.[0]?.extensions?.code;
  if (typeof code === 'string') return code;
  const data = result.data?.[rootField];
  return data === null ? 'hidden' : 'ok';
}

async function invite(email: string, roles = ['member']): Promise<{ id: string; token: string }> {
  const result = await gql<{ inviteMember: { id: string } }>(
    url(),
    'mutation($i: InviteMemberInput!) { inviteMember(input: $i) { id } }',
    { token: clients.alice, variables: { i: { organizationId: ids.orgA, email, roles } } },
  );
  const token = await invitationToken(url(), email);
  return { id: result.data?.inviteMember.id as string, token };
}

/** What the gateway would forward for this actor: the caller rebuilt from their access token's claims. */
function callerOf(actor: Actor): Caller {
  const client = actor === 'anonymous' ? undefined : clients[actor];
  if (!client) return ANONYMOUS;
  const c = client.claims();
  return {
    kind: 'user',
    userId: c.sub as string,
    sessionId: c.sid as string,
    organizationId: (c.org as string | null) ?? null,
    roles: c.roles as string[],
    scopes: ((c.scope as string) || '').split(' ').filter(Boolean),
    email: c.email as string,
    mfaSetupRequired: c.mfa_setup_required === true,
  };
}

async function entities(actor: Actor, representation: Record<string, string>, selection: string) {
  const key = await loadOrCreateSigningKey(platform.dataDir, 'gateway');
  const token = await signGatewayToken(key, 'organization', { caller: callerOf(actor), requestId: 'matrix' });
  const response = await fetch(platform.subgraphUrls.organization as string, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [GATEWAY_TOKEN_HEADER]: token },
    body: JSON.stringify({
      query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on ${representation.__typename} ${selection} } }`,
      variables: { r: [representation] },
    }),
  });
  return (await response.json()) as GraphQLResponse;
}

interface RootCase {
  operation: () => Promise<{ query: string; variables: Record<string, unknown> }>;
  expect: Record<Actor, Outcome>;
  /** Puts back what an allowed attempt changed, so the next actor meets the same state. */
  restore?: (actor: Actor) => Promise<void>;
}

const DENIED = { anonymous: 'UNAUTHENTICATED', jim: 'NOT_FOUND' } as const;

const MUTATIONS: Record<string, RootCase> = {
  createOrganization: {
    operation: async () => ({
      query: 'mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { id } }',
      variables: { i: { name: 'Mine', slug: `matrix-own-${++counter}` } },
    }),
    // Anyone signed in may create their own organization.
    expect: { anonymous: 'UNAUTHENTICATED', jim: 'ok', joe: 'ok', alice: 'ok' },
  },
  updateOrganization: {
    operation: async () => ({
      query: 'mutation($id: ID!) { updateOrganization(id: $id, input: { description: "matrix" }) { id } }',
      variables: { id: ids.orgA },
    }),
    expect: { ...DENIED, joe: 'FORBIDDEN', alice: 'ok' },
  },
  deleteOrganization: {
    // A wrong confirmation: an authorized caller gets past authorization and is stopped there (nothing deleted).
    operation: async () => ({
      query: 'mutation($id: ID!) { deleteOrganization(id: $id, confirmSlug: "wrong") }',
      variables: { id: ids.orgA },
    }),
    expect: { ...DENIED, joe: 'FORBIDDEN', alice: 'BAD_USER_INPUT' },
  },
  transferOwnership: {
    operation: async () => ({
      query: 'mutation($o: ID!, $u: ID!) { transferOwnership(organizationId: $o, userId: $u) { roles } }',
      variables: { o: ids.orgA, u: ids.aliceId },
    }),
    expect: { ...DENIED, joe: 'FORBIDDEN', alice: 'BAD_USER_INPUT' },
  },
  changeMemberRoles: {
    operation: async () => ({
      query:
        'mutation($o: ID!, $u: ID!) { changeMemberRoles(organizationId: $o, userId: $u, roles: ["developer"]) { roles } }',
      variables: { o: ids.orgA, u: ids.joeId },
    }),
    expect: { ...DENIED, joe: 'FORBIDDEN', alice: 'ok' },
  },
  removeMember: {
    // The last owner: authorized callers meet the one-owner rule.
    operation: async () => ({
      query: 'mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) }',
      variables: { o: ids.orgA, u: ids.aliceId },
    }),
    expect: { ...DENIED, joe: 'FORBIDDEN', alice: 'CONFLICT' },
  },
  leaveOrganization: {
    operation: async () => ({
      query: 'mutation($o: ID!) { leaveOrganization(organizationId: $o) }',
      variables: { o: ids.orgA },
    }),
    expect: { ...DENIED, joe: 'ok', alice: 'CONFLICT' },
    restore: async (actor) => {
      if (actor !== 'joe') return;
      await db.query(
        `INSERT INTO organization.memberships (id, organization_id, user_id, roles) VALUES (gen_random_uuid(), $1, $2, '{developer}')`,
        [ids.orgA, ids.joeId],
      );
    },
  },
  inviteMember: {
    operation: async () => ({
      query: 'mutation($i: InviteMemberInput!) { inviteMember(input: $i) { id } }',
      variables: { i: { organizationId: ids.orgA, email: `matrix${++counter}@a.example`, roles: ['admin'] } },
    }),
    expect: { ...DENIED, joe: 'FORBIDDEN', alice: 'ok' },
  },
  resendInvitation: {
    operation: async () => ({
      query: 'mutation($id: ID!) { resendInvitation(id: $id) { status } }',
      variables: { id: (await invite(`resend${++counter}@a.example`)).id },
    }),
    expect: { ...DENIED, joe: 'FORBIDDEN', alice: 'ok' },
  },
  revokeInvitation: {
    operation: async () => ({
      query: 'mutation($id: ID!) { revokeInvitation(id: $id) { status } }',
      variables: { id: (await invite(`revoke${++counter}@a.example`)).id },
    }),
    expect: { ...DENIED, joe: 'FORBIDDEN', alice: 'ok' },
  },
  acceptInvitation: {
    // A live token of A for someone else: nobody but that person gets in (jim holding it included).
    operation: async () => ({
      query: 'mutation($t: String!) { acceptInvitation(token: $t) { roles } }',
      variables: { t: (await invite(`someone${++counter}@a.example`, ['admin'])).token },
    }),
    expect: { anonymous: 'UNAUTHENTICATED', jim: 'FORBIDDEN', joe: 'FORBIDDEN', alice: 'FORBIDDEN' },
  },
};

const QUERIES: Record<string, RootCase> = {
  organization: {
    operation: async () => ({
      query: 'query($id: ID!) { organization(id: $id) { id name } }',
      variables: { id: ids.orgA },
    }),
    expect: { anonymous: 'UNAUTHENTICATED', jim: 'hidden', joe: 'ok', alice: 'ok' },
  },
  organizationBySlug: {
    operation: async () => ({
      query: 'query($s: String!) { organizationBySlug(slug: $s) { id name } }',
      variables: { s: ids.slugA },
    }),
    expect: { anonymous: 'UNAUTHENTICATED', jim: 'hidden', joe: 'ok', alice: 'ok' },
  },
};

/** Organization fields only its administrators (and platform administrators) read. */
const ADMIN_ONLY = new Set(['billingEmail', 'billingAddress', 'taxId', 'invitations', 'auditLog']);
const FIELD_ARGUMENTS: Record<string, () => string> = {
  member: () => `(userId: "${ids.joeId}")`,
  members: () => '(first: 5)',
  invitations: () => '(first: 5)',
  auditLog: () => '(first: 5)',
};

beforeAll(async () => {
  platform = await startTestPlatform();
  db = new pg.Client({ connectionString: platform.databaseUrl });
  await db.connect();
  const [alice, jim] = await Promise.all([
    registerClient(url(), 'alice@matrix-a.example'),
    registerClient(url(), 'jim@matrix-b.example'),
  ]);
  clients.alice = alice;
  clients.jim = jim;
  const a = await gql<{ createOrganization: { id: string } }>(
    url(),
    'mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { id } }',
    { token: alice, variables: { i: { name: 'Matrix A', slug: ids.slugA, billingEmail: 'billing@matrix-a.example' } } },
  );
  ids.orgA = a.data?.createOrganization.id as string;
  // The matrix invites dozens of people into A: a plan with the seats for them (free has 5).
  await assignPlan(url(), ids.orgA);
  await gql(url(), 'mutation { createOrganization(input: { name: "Matrix B", slug: "matrix-b" }) { id } }', {
    token: jim,
  });
  await registerAccount(url(), 'joe@a.example');
  clients.joe = await signIn(url(), 'joe@a.example', 'a long enough passphrase');
  const joined = await gql(url(), 'mutation($t: String!) { acceptInvitation(token: $t) { roles } }', {
    token: clients.joe,
    variables: { t: (await invite('joe@a.example', ['developer'])).token },
  });
  expect(joined.errors).toBeUndefined();
  const meId = async (client: TestClient) =>
    (await gql<{ me: { id: string } }>(url(), '{ me { id } }', { token: client })).data?.me.id as string;
  [ids.aliceId, ids.joeId, ids.jimId] = await Promise.all([meId(alice), meId(clients.joe), meId(jim)]);
  for (const client of Object.values(clients)) await client?.refresh();
});
afterAll(async () => {
  await db?.end();
  await platform?.close();
});

describe('tenancy matrix (generated from the supergraph)', () => {
  it('has an expectation for every query and mutation organization owns', () => {
    expect(Object.keys(QUERIES).sort()).toEqual(rootFields(supergraph.getQueryType()));
    expect(Object.keys(MUTATIONS).sort()).toEqual(rootFields(supergraph.getMutationType()));
  });

  for (const [kind, cases] of [
    ['query', QUERIES],
    ['mutation', MUTATIONS],
  ] as const) {
    for (const [field, spec] of Object.entries(cases)) {
      it(`${kind} ${field}: ${ACTORS.map((a) => `${a} → ${spec.expect[a]}`).join(', ')}`, async () => {
        const seen: Partial<Record<Actor, Outcome>> = {};
        for (const actor of ACTORS) {
          const { query, variables } = await spec.operation();
          seen[actor] = outcome(await gql(url(), query, { token: tokenOf(actor), variables }), field);
          await spec.restore?.(actor);
        }
        expect(seen).toEqual(spec.expect);
      });
    }
  }

  const organizationType = supergraph.getType('Organization') as GraphQLObjectType;
  for (const field of ownedFields(organizationType)) {
    const selection = () => `${field.name}${FIELD_ARGUMENTS[field.name]?.() ?? ''} ${leaves(getNamedType(field.type))}`;
    const member = ADMIN_ONLY.has(field.name) ? 'FORBIDDEN' : 'ok';
    it(`Organization.${field.name} of A: alice ok, joe ${member}, jim and anonymous denied — directly and through _entities`, async () => {
      const direct: Partial<Record<Actor, Outcome>> = {};
      const viaEntities: Partial<Record<Actor, Outcome>> = {};
      for (const actor of ACTORS) {
        const result = await gql(url(), `query($id: ID!) { organization(id: $id) { ${selection()} } }`, {
          token: tokenOf(actor),
          variables: { id: ids.orgA },
        });
        direct[actor] = outcome(result, 'organization');
        const entity = await entities(actor, { __typename: 'Organization', id: ids.orgA }, `{ ${selection()} }`);
        viaEntities[actor] = outcome(entity, '_entities');
      }
      expect(direct).toEqual({ anonymous: 'UNAUTHENTICATED', jim: 'hidden', joe: member, alice: 'ok' });
      expect(viaEntities).toEqual({ anonymous: 'UNAUTHENTICATED', jim: 'FORBIDDEN', joe: member, alice: 'ok' });
    });
  }

  const userType = supergraph.getType('User') as GraphQLObjectType;
  for (const field of ownedFields(userType).filter((f) => f.name !== 'id')) {
    it(`User.${field.name}: only the user themself — nobody reads alice's through _entities`, async () => {
      const selection = `{ ${field.name} ${leaves(getNamedType(field.type))} }`;
      const ofAlice: Partial<Record<Actor, Outcome>> = {};
      for (const actor of ACTORS) {
        ofAlice[actor] = outcome(
          await entities(actor, { __typename: 'User', id: ids.aliceId }, selection),
          '_entities',
        );
      }
      expect(ofAlice).toEqual({ anonymous: 'UNAUTHENTICATED', jim: 'FORBIDDEN', joe: 'FORBIDDEN', alice: 'ok' });
      // jim's own view never contains A, however he nests it.
      const own = await gql(
        url(),
        `{ me { id ${field.name} ${field.name === 'organizations' ? '{ id }' : '{ organization { id } }'} } }`,
        {
          token: clients.jim,
        },
      );
      expect(own.errors).toBeUndefined();
      expect(JSON.stringify(own.data)).not.toContain(ids.orgA);
    });
  }
});
