// The organization subgraph: tenants and memberships; contributes User.organizations.
import {
  type AuthContext,
  callerIsPlatformAdmin,
  isAuthenticated,
  isPlatformAdmin,
  isPublic,
  isSelf,
  isSignedInUser,
  or,
  rule,
} from '@g3d/auth';
import type { Database, Membership, Organization } from '@g3d/db';
import { forbidden, notFound, unauthenticated } from '@g3d/errors';
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

import { MembershipsService } from './modules/organizations/memberships.service.ts';
import { readSettings } from './modules/organizations/organization-input.ts';
import { OrganizationsRepository } from './modules/organizations/organizations.repository.ts';
import {
  type CreateOrganizationInput,
  OrganizationsService,
  type UpdateOrganizationInput,
} from './modules/organizations/organizations.service.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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

/** The caller is an owner or admin of the parent organization. Parent-dependent: never cached. */
const isAdminOfParentOrganization = rule({ cache: 'no_cache' })(async (
  parent: { id: string },
  _args,
  ctx: OrganizationContext,
) => {
  if (!ctx.caller.userId) return unauthenticated();
  return (
    (await rolesIn(ctx, parent.id)).some((r) => ADMIN_ROLES.has(r)) || forbidden('Organization administrators only')
  );
});

const ADMIN_ROLES = new Set(['owner', 'admin']);

async function rolesIn(ctx: OrganizationContext, organizationId: string): Promise<string[]> {
  if (!ctx.caller.userId) return [];
  const memberships = await ctx.membershipsOfUser.load(ctx.caller.userId);
  return memberships.find((m) => m.organizationId === organizationId)?.roles ?? [];
}

/** An organization the caller may see: a member, or a platform admin. Anything else looks like no organization. */
async function visible(ctx: OrganizationContext, organization: Organization | null): Promise<Organization | null> {
  if (!organization) return null;
  if (callerIsPlatformAdmin(ctx.caller)) return organization;
  return (await rolesIn(ctx, organization.id)).length > 0 ? organization : null;
}

export const organizationPermissions = {
  Query: {
    organization: isAuthenticated,
    organizationBySlug: isAuthenticated,
    _service: isPublic,
    _entities: isPublic,
  },
  Mutation: {
    createOrganization: isSignedInUser,
    updateOrganization: isAuthenticated,
    // Authorization needs the locked member list: checked inside the transaction (memberships.service.ts).
    changeMemberRoles: isSignedInUser,
    removeMember: isSignedInUser,
    leaveOrganization: isSignedInUser,
  },
  Organization: {
    '*': or(isMemberOfParentOrganization, isPlatformAdmin),
    billingEmail: or(isAdminOfParentOrganization, isPlatformAdmin),
  },
  // Reachable only through Organization.settings, which is guarded above.
  OrganizationSettings: isAuthenticated,
  // Reachable only through Organization.members, which is guarded above.
  Membership: isAuthenticated,
  User: { id: isAuthenticated, organizations: or(isSelf(), isPlatformAdmin) },
  _Service: isPublic,
};

export function organizationDefinition(db: Database): SubgraphDefinition<OrganizationContext> {
  const repo = new OrganizationsRepository(db.prisma);
  const service = new OrganizationsService(repo);
  const memberships = new MembershipsService(db.prisma);
  /** Strangers get NOT_FOUND for any organization they cannot see, existing or not. */
  const requireVisible = async (ctx: OrganizationContext, id: string) => {
    const organization = UUID.test(id) ? await visible(ctx, await ctx.organizations.load(id)) : null;
    if (!organization) throw notFound('No such organization');
    return organization;
  };
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
        organization: async (_parent, { id }: { id: string }, ctx) =>
          UUID.test(id) ? visible(ctx, await ctx.organizations.load(id)) : null,
        organizationBySlug: async (_parent, { slug }: { slug: string }, ctx) =>
          slug.length <= 64 ? visible(ctx, await repo.findBySlug(slug)) : null,
      },
      Mutation: {
        createOrganization: (_parent, { input }: { input: CreateOrganizationInput }, ctx) =>
          service.create(ctx.caller.userId as string, input),
        updateOrganization: async (_parent, { id, input }: { id: string; input: UpdateOrganizationInput }, ctx) => {
          const organization = await requireVisible(ctx, id);
          const isAdmin = (await rolesIn(ctx, id)).some((r) => ADMIN_ROLES.has(r)) || callerIsPlatformAdmin(ctx.caller);
          if (!isAdmin) throw forbidden('Organization administrators only');
          return service.update(organization, input);
        },
        changeMemberRoles: async (_p, args: { organizationId: string; userId: string; roles: string[] }, ctx) => {
          await requireVisible(ctx, args.organizationId);
          if (!UUID.test(args.userId)) throw notFound('No such member');
          return memberships.changeRoles(args.organizationId, ctx.caller.userId as string, args.userId, args.roles);
        },
        removeMember: async (_p, args: { organizationId: string; userId: string }, ctx) => {
          await requireVisible(ctx, args.organizationId);
          if (!UUID.test(args.userId)) throw notFound('No such member');
          await memberships.remove(args.organizationId, ctx.caller.userId as string, args.userId);
          return true;
        },
        leaveOrganization: async (_p, args: { organizationId: string }, ctx) => {
          await requireVisible(ctx, args.organizationId);
          await memberships.leave(args.organizationId, ctx.caller.userId as string);
          return true;
        },
      },
      Organization: {
        __resolveReference: (ref: { id: string }, ctx: OrganizationContext) => ctx.organizations.load(ref.id),
        settings: (organization: Organization) => readSettings(organization.settings),
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
