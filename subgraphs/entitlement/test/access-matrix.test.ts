// Who may do what in entitlement (README: the rules table), as a tenancy matrix on the subgraph: the roles of
// organization A (owner, admin, billing, member, developer), the owner of organization B, a platform
// administrator acting in no organization, A's API key, and anonymous — against every field and mutation.
// Then hostile input: every bad argument is BAD_USER_INPUT naming the field, never a 500.
import { randomUUID } from 'node:crypto';

import { type Caller, scopesForRoles } from '@g3d/auth';
import { caller, type GraphQLResult, type Harness, startSubgraphs } from '@g3d/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { seedPlans, service } from '../src/index.ts';

const A = randomUUID();
const B = randomUUID();
const inA = (roles: string[]): Caller =>
  caller({ userId: randomUUID(), organizationId: A, roles, scopes: scopesForRoles(roles) });

const CALLERS: Record<string, Caller> = {
  owner: inA(['owner']),
  admin: inA(['admin']),
  billing: inA(['billing']),
  member: inA(['member']),
  developer: inA(['developer']),
  strangerOwner: caller({
    userId: randomUUID(),
    organizationId: B,
    roles: ['owner'],
    scopes: scopesForRoles(['owner']),
  }),
  platformAdmin: caller({ userId: randomUUID(), roles: ['user', 'super_admin'] }),
  apiKey: { ...inA(['owner']), kind: 'apiKey', scopes: ['org:read', 'billing:read', 'billing:admin'] },
  anonymous: { ...caller({ userId: '' }), kind: 'anonymous', userId: null },
};

const onA = (selection: string) =>
  `query($r: [_Any!]!) { _entities(representations: $r) { ... on Organization { ${selection} } } }`;

/** Each operation: a document, its variables, and where its answer is (null data there = refused). */
const OPERATIONS: Record<string, { query: string; variables?: (who: Caller) => Record<string, unknown> }> = {
  subscription: { query: onA('subscription { plan { id } status renewsAt }') },
  entitlements: { query: onA('entitlements { seats services { service included requestsUsed } }') },
  stripeIds: { query: onA('subscription { stripeCustomerId }') },
  usage: { query: onA('usage { totals { requests } }') },
  myUsage: { query: onA('myUsage { totals { requests } }') },
  serviceAccess: {
    query:
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { serviceAccess { service allowed } } } }',
    variables: (who) => ({ r: [{ __typename: 'User', id: who.userId ?? randomUUID() }] }),
  },
  othersServiceAccess: {
    query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { serviceAccess { service } } } }',
    variables: () => ({ r: [{ __typename: 'User', id: randomUUID() }] }),
  },
  changePlan: { query: `mutation { changePlan(organizationId: "${A}", planId: "free") { status } }` },
  cancelSubscription: { query: `mutation { cancelSubscription(organizationId: "${A}") { status } }` },
  assignPlan: { query: `mutation { assignPlan(organizationId: "${A}", planId: "free") { status } }` },
  setEntitlementOverrides: {
    query: `mutation { setEntitlementOverrides(organizationId: "${A}", input: { seats: 9 }) { seats } }`,
  },
  setServicesSuspended: {
    query: `mutation { setServicesSuspended(organizationId: "${A}", suspended: false) { suspended } }`,
  },
  upsertPlan: {
    query: `mutation { upsertPlan(input: { id: "free", name: "Free", includedServices: ["chat-builder", "translate-ai"],
      monthlyRequests: 1000, priceMonthlyCents: 0, priceYearlyCents: 0 }) { id } }`,
  },
  plans: { query: '{ plans { id services { service included } } }' },
};

// ok, or the refusal's code / reason. cancelSubscription on the free plan is CONFLICT once allowed.
const Y = 'ok';
const SWITCH = 'FORBIDDEN:SWITCH_ORGANIZATION';
const SCOPE = 'FORBIDDEN:MISSING_SCOPE';
const NO = 'FORBIDDEN';
const ANON = 'UNAUTHENTICATED';
const MATRIX: Record<string, Record<string, string>> = {
  //                     owner       admin  billing member developer strangerOwner platformAdmin apiKey anonymous
  subscription: row(Y, Y, Y, Y, Y, SWITCH, Y, Y, ANON),
  entitlements: row(Y, Y, Y, Y, Y, SWITCH, Y, Y, ANON),
  stripeIds: row(Y, Y, Y, SCOPE, SCOPE, SWITCH, Y, Y, ANON),
  usage: row(Y, Y, Y, SCOPE, SCOPE, SWITCH, Y, Y, ANON),
  myUsage: row(Y, Y, Y, Y, Y, SWITCH, Y, Y, ANON),
  serviceAccess: row(Y, Y, Y, Y, Y, Y, Y, Y, ANON),
  othersServiceAccess: row(NO, NO, NO, NO, NO, NO, NO, NO, ANON),
  changePlan: row(Y, SCOPE, SCOPE, SCOPE, SCOPE, SWITCH, SWITCH, NO, ANON),
  cancelSubscription: row('CONFLICT', SCOPE, SCOPE, SCOPE, SCOPE, SWITCH, SWITCH, NO, ANON),
  assignPlan: row(NO, NO, NO, NO, NO, NO, Y, NO, ANON),
  setEntitlementOverrides: row(NO, NO, NO, NO, NO, NO, Y, NO, ANON),
  setServicesSuspended: row(NO, NO, NO, NO, NO, NO, Y, NO, ANON),
  upsertPlan: row(NO, NO, NO, NO, NO, NO, Y, NO, ANON),
  plans: row(Y, Y, Y, Y, Y, Y, Y, Y, Y),
};

function row(...outcomes: string[]): Record<string, string> {
  return Object.fromEntries(Object.keys(CALLERS).map((name, i) => [name, outcomes[i] as string]));
}

function outcome(result: GraphQLResult<Record<string, unknown>>): string {
  const error = result.errors?.[0];
  if (!error) {
    const entities = result.data?._entities as unknown[] | undefined;
    if (entities && entities.some((e) => e === null)) return 'null';
    return 'ok';
  }
  const { code, reason } = error.extensions as { code?: string; reason?: string };
  return reason && code === 'FORBIDDEN' ? `${code}:${reason}` : String(code);
}

let harness: Harness;
beforeAll(async () => {
  harness = await startSubgraphs({ entitlement: service });
  await seedPlans(harness.db);
});
afterAll(() => harness.close());

describe('entitlement tenancy matrix', () => {
  const cases = Object.entries(MATRIX).flatMap(([operation, expected]) =>
    Object.entries(expected).map(([who, want]) => [operation, who, want] as const),
  );
  it.each(cases)('%s as %s → %s', async (operation, who, want) => {
    const op = OPERATIONS[operation]!;
    const as = CALLERS[who]!;
    const variables = op.variables?.(as) ?? { r: [{ __typename: 'Organization', id: A }] };
    const result = await harness.as(as).gql(op.query, variables);
    expect(result.status).toBeLessThan(500);
    expect(outcome(result)).toBe(want);
  });
});

describe('hostile input', () => {
  const admin = () => harness.as(CALLERS.platformAdmin);
  const owner = () => harness.as(CALLERS.owner);
  const field = async (client: ReturnType<typeof admin>, query: string) => {
    const result = await client.gql(query);
    expect(result.status).toBeLessThan(500);
    return [result.errors?.[0]?.extensions?.code, result.errors?.[0]?.extensions?.field];
  };

  it.each([
    [`mutation { assignPlan(organizationId: "not-a-uuid", planId: "free") { status } }`, 'organizationId'],
    [`mutation { assignPlan(organizationId: "${A}", planId: "${'x'.repeat(10_000)}") { status } }`, 'planId'],
    [`mutation { assignPlan(organizationId: "${A}", planId: "free", trialDays: -3) { status } }`, 'trialDays'],
    [`mutation { setEntitlementOverrides(organizationId: "${A}", input: { seats: -1 }) { seats } }`, 'input.seats'],
    [
      `mutation { setEntitlementOverrides(organizationId: "${A}", input: { storageBytes: "1e9" }) { seats } }`,
      'input.storageBytes',
    ],
    [
      `mutation { setEntitlementOverrides(organizationId: "${A}", input: { services: [{ service: "nope" }] }) { seats } }`,
      'input.services.0.service',
    ],
    [
      `mutation { setEntitlementOverrides(organizationId: "${A}", input: { services: [{ service: "health-ai", units: 5 }] }) { seats } }`,
      'input.services.0.units',
    ],
    [
      `mutation { setEntitlementOverrides(organizationId: "${A}", input: { services: [{ service: "video-ai", requests: 2147483647 }] }) { seats } }`,
      'input.services.0.requests',
    ],
    [`mutation { upsertPlan(input: { id: "Bad Id!", name: "x", includedServices: [] }) { id } }`, 'id'],
    [`mutation { upsertPlan(input: { id: "p", name: "", includedServices: [] }) { id } }`, 'name'],
    [`mutation { upsertPlan(input: { id: "p", name: "P", includedServices: ["x"] }) { id } }`, 'includedServices.0'],
    [
      `mutation { upsertPlan(input: { id: "p", name: "P", includedServices: [], currency: "EURO" }) { id } }`,
      'currency',
    ],
    [
      `mutation { upsertPlan(input: { id: "p", name: "P", includedServices: [], stripePriceMonthly: "evil" }) { id } }`,
      'stripePriceMonthly',
    ],
  ])('platform administrator: %s → BAD_USER_INPUT on %s', async (query, name) => {
    expect(await field(admin(), query)).toEqual(['BAD_USER_INPUT', name]);
  });

  it.each([
    [onA('usage(from: "2030-01-02T00:00:00Z", to: "2030-01-01T00:00:00Z") { rows { service } }'), 'from'],
    [onA('usage(from: "2020-01-01T00:00:00Z", to: "2030-01-01T00:00:00Z") { rows { service } }'), 'from'],
    [onA('usage(service: "nope") { rows { service } }'), 'service'],
    [onA('usage(userId: "1 OR 1=1") { rows { service } }'), 'userId'],
  ])('owner: %s → BAD_USER_INPUT on %s', async (query, name) => {
    const result = await owner().gql(query, { r: [{ __typename: 'Organization', id: A }] });
    expect(result.status).toBeLessThan(500);
    expect([result.errors?.[0]?.extensions?.code, result.errors?.[0]?.extensions?.field]).toEqual([
      'BAD_USER_INPUT',
      name,
    ]);
  });

  it('owner: an unknown plan is BAD_USER_INPUT; a plan arranged with sales is FORBIDDEN with its reason', async () => {
    expect(await field(owner(), `mutation { changePlan(organizationId: "${A}", planId: "gold") { status } }`)).toEqual([
      'BAD_USER_INPUT',
      'planId',
    ]);
    const result = await owner().gql(
      `mutation { changePlan(organizationId: "${A}", planId: "enterprise") { status } }`,
    );
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'PLAN_NOT_SELF_SERVICE' });
  });
});
