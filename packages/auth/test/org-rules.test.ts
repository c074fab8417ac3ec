// Token-based organization rules for subgraphs without a membership table: isOrgMember / isOrgAdmin allow a
// field only in the caller's current organization (and, for admin, with org:admin). They are parent-dependent:
// in one request resolving two organizations, each gets its own decision (no per-request cache leaking A's
// "allow" to B, as shield's 'contextual' cache would in an `_entities` batch).
import {
  ANONYMOUS,
  type Caller,
  isOrgAdmin,
  isOrgMember,
  isPublic,
  organizationIdArgument,
  parentOrganization,
  scopesForRoles,
} from '@g3d/auth';
import { buildSchema, graphql } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { shield } from 'graphql-shield';
import { describe, expect, it } from 'vitest';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';

const schema = applyMiddleware(
  buildSchema(/* GraphQL */ `
    type Org {
      id: ID!
      usage: Int
      billing: String
    }
    type Query {
      orgs: [Org!]!
      usageOf(organizationId: ID!): Int
    }
  `),
  shield(
    {
      Query: { orgs: isPublic, usageOf: isOrgMember(organizationIdArgument) },
      Org: { id: isPublic, usage: isOrgMember(parentOrganization), billing: isOrgAdmin(parentOrganization) },
    },
    { allowExternalErrors: true },
  ),
);

const caller = (organizationId: string | null, roles: string[]): Caller => ({
  kind: 'user',
  userId: 'u',
  sessionId: 's',
  organizationId,
  roles,
  scopes: scopesForRoles(roles),
  email: 'u@a.example',
  mfaSetupRequired: false,
});

async function run(source: string, who: Caller) {
  const org = (id: string) => ({ id, usage: 1, billing: 'secret' });
  const result = await graphql({
    schema,
    source,
    rootValue: { orgs: [org(A), org(B)], usageOf: 7 },
    contextValue: { caller: who },
  });
  return {
    data: result.data,
    codes: (result.errors ?? []).map((e) => [e.path?.join('.'), e.extensions?.code]),
  };
}

describe('isOrgMember / isOrgAdmin (token-based)', () => {
  it('decide per organization within one request: A allowed, B denied', async () => {
    const result = await run('{ orgs { id usage } }', caller(A, ['developer']));
    expect(result.codes).toEqual([['orgs.1.usage', 'FORBIDDEN']]);
    expect(result.data).toEqual({
      orgs: [
        { id: A, usage: 1 },
        { id: B, usage: null },
      ],
    });
  });

  it('admin fields need org:admin in the current organization', async () => {
    expect((await run('{ orgs { id billing } }', caller(A, ['developer']))).codes).toEqual([
      ['orgs.0.billing', 'FORBIDDEN'],
      ['orgs.1.billing', 'FORBIDDEN'],
    ]);
    expect((await run('{ orgs { id billing } }', caller(A, ['admin']))).codes).toEqual([
      ['orgs.1.billing', 'FORBIDDEN'],
    ]);
  });

  it('read the organization from an argument too; anonymous callers and callers without one are refused', async () => {
    expect((await run(`{ usageOf(organizationId: "${A}") }`, caller(A, ['member']))).data).toEqual({ usageOf: 7 });
    expect((await run(`{ usageOf(organizationId: "${B}") }`, caller(A, ['member']))).codes).toEqual([
      ['usageOf', 'FORBIDDEN'],
    ]);
    expect((await run(`{ usageOf(organizationId: "${A}") }`, caller(null, []))).codes).toEqual([
      ['usageOf', 'FORBIDDEN'],
    ]);
    expect((await run(`{ usageOf(organizationId: "${A}") }`, ANONYMOUS)).codes).toEqual([
      ['usageOf', 'UNAUTHENTICATED'],
    ]);
  });
});
