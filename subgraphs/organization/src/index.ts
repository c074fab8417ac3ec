// The organization subgraph: tenants and memberships; contributes User.organizations.
import { type AuthContext, isAuthenticated, isPlatformAdmin, isPublic, isSelf, or, rule } from '@g3d/auth';
import type { Database, Membership, Organization } from '@g3d/db';
import { forbidden, unauthenticated } from '@g3d/errors';
import {
  createSubgraph,
  type DataLoader,
  DateTime,
  loadSdl,
  manyByKey,
  oneByKey,
  type SubgraphDefinition,
  type SubgraphDeps,
} from '@g3d/kit';

import { OrganizationsRepository } from './modules/organizations/organizations.repository.ts';

interface OrganizationContext extends AuthContext {
  organizations: DataLoader<string, Organization | null>;
  membershipsOfUser: DataLoader<string, Membership[]>;
  membershipsOfOrganization: DataLoader<string, Membership[]>;
}

export const organizationTypeDefs = loadSdl(import.meta.url, './schema.graphql');

/** The caller is a member of the parent organization (or a platform admin). Parent-dependent: never cached. */
const isMemberOfParentOrganization = rule({ cache: 'no_cache' })(async (
  parent: { id: string },
  _args,
  ctx: OrganizationContext,
) => {
  if (ctx.caller.kind === 'anonymous' || !ctx.caller.userId) return unauthenticated();
  const memberships = await ctx.membershipsOfUser.load(ctx.caller.userId);
  return memberships.some((m) => m.organizationId === parent.id) || forbidden('Not a member of this organization');
});

export const organizationPermissions = {
  Query: { organization: isAuthenticated, _service: isPublic, _entities: isPublic },
  Organization: or(isMemberOfParentOrganization, isPlatformAdmin),
  // Reachable only through Organization.members, which is guarded above.
  Membership: isAuthenticated,
  User: { id: isAuthenticated, organizations: or(isSelf(), isPlatformAdmin) },
  _Service: isPublic,
};

export function organizationDefinition(db: Database): SubgraphDefinition<OrganizationContext> {
  const repo = new OrganizationsRepository(db.prisma);
  return {
    name: 'organization',
    typeDefs: organizationTypeDefs,
    permissions: organizationPermissions,
    createContext: (base) => ({
      caller: base.caller,
      organizations: oneByKey(
        (ids) => repo.findByIds(ids),
        (o) => o.id,
      ),
      membershipsOfUser: manyByKey(
        (ids) => repo.membershipsOfUsers(ids),
        (m) => m.userId,
      ),
      membershipsOfOrganization: manyByKey(
        (ids) => repo.membershipsOfOrganizations(ids),
        (m) => m.organizationId,
      ),
    }),
    resolvers: {
      DateTime,
      Query: {
        organization: async (_parent, { id }: { id: string }, ctx) => ctx.organizations.load(id),
      },
      Organization: {
        __resolveReference: (ref: { id: string }, ctx: OrganizationContext) => ctx.organizations.load(ref.id),
        members: (org: Organization, _args, ctx) => ctx.membershipsOfOrganization.load(org.id),
      },
      Membership: {
        user: (m: Membership) => ({ __typename: 'User', id: m.userId }),
        joinedAt: (m: Membership) => m.createdAt,
      },
      User: {
        __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
        organizations: async (user: { id: string }, _args, ctx) => {
          const memberships = await ctx.membershipsOfUser.load(user.id);
          const orgs = await ctx.organizations.loadMany(memberships.map((m) => m.organizationId));
          return orgs.filter((o): o is Organization => o !== null && !(o instanceof Error));
        },
      },
    },
  };
}

export function createOrganizationService(deps: SubgraphDeps & { db: Database }) {
  return createSubgraph(organizationDefinition(deps.db), deps);
}

/** Creates the first organization, owned by the first admin, when there are none. */
export async function seedFirstOrganization(db: Database, ownerId: string, name = 'Default Organization') {
  const repo = new OrganizationsRepository(db.prisma);
  if ((await repo.count()) > 0) return { created: false };
  await repo.createWithOwner({ name, slug: 'default', ownerId });
  return { created: true };
}
