// Memberships: an organization's members, the member-level mutations, and User.organizations / User.memberships.
import { hasScopes, isAuthenticated, isPlatformAdmin, isSignedInUser, or, PLATFORM_SCOPES, rule } from '@g3d/auth';
import type { Membership, Organization } from '@g3d/db';
import { AppError, badUserInput, forbidden, notFound, unauthenticated } from '@g3d/errors';
import { defineModule, isUuid, loadSdl, pageSize } from '@g3d/kit';

import type { OrganizationContext } from '../../context.ts';
import { callerId, orgMembers, requireVisible } from '../organizations/access.ts';
import { memberCursor, parseMemberCursor } from './memberships.repository.ts';

export const MAX_MEMBER_PAGE = 1000;

const requireUserId = (userId: string) => {
  if (!isUuid(userId)) throw notFound('No such member');
  return userId;
};

/**
 * The parent user is the caller: the signed-in person, or the owner of the API key calling with org:read (which
 * then sees the key's organization only). Parent-dependent: never cached.
 */
const isSelfOrOwnKey = rule({ cache: 'no_cache' })((parent: { id: string }, _args, ctx: OrganizationContext) => {
  if (ctx.caller.kind === 'anonymous') return unauthenticated();
  if (ctx.caller.userId !== parent.id) return forbidden();
  if (ctx.caller.kind === 'user' || hasScopes(ctx.caller, [PLATFORM_SCOPES.orgRead])) return true;
  return new AppError('FORBIDDEN', `This API key lacks the scope ${PLATFORM_SCOPES.orgRead}`, {
    reason: 'MISSING_SCOPE',
    scope: PLATFORM_SCOPES.orgRead,
  });
});
const selfOrPlatformAdmin = or(isSelfOrOwnKey, isPlatformAdmin);

/** The user's memberships the caller may see: an API key sees its own organization's only. */
async function visibleMemberships(ctx: OrganizationContext, userId: string): Promise<Membership[]> {
  const all = await ctx.membershipsOfUser.load(userId);
  return ctx.caller.kind === 'apiKey' ? all.filter((m) => m.organizationId === ctx.caller.organizationId) : all;
}

type MemberArgs = { organizationId: string; userId: string };

export const membershipsModule = defineModule<OrganizationContext>({
  name: 'memberships',
  typeDefs: loadSdl(import.meta.url, './schema.graphql'),
  rules: {
    // Authorized against the locked member list inside each change (a person, not an API key).
    Mutation: {
      transferOwnership: isSignedInUser,
      changeMemberRoles: isSignedInUser,
      removeMember: isSignedInUser,
      leaveOrganization: isSignedInUser,
    },
    Organization: { memberCount: orgMembers, members: orgMembers, member: orgMembers },
    // Reachable only through Organization fields, User fields and mutation results, which are guarded.
    Membership: isAuthenticated,
    User: { id: isAuthenticated, organizations: selfOrPlatformAdmin, memberships: selfOrPlatformAdmin },
  },
  resolvers: {
    Mutation: {
      transferOwnership: async (_p, args: MemberArgs, ctx) => {
        await requireVisible(ctx, args.organizationId);
        const userId = requireUserId(args.userId);
        const membership = await ctx.services.memberships.transferOwnership(args.organizationId, callerId(ctx), userId);
        ctx.changed({ userIds: [callerId(ctx), userId], organizationId: args.organizationId });
        return membership;
      },
      changeMemberRoles: async (_p, args: MemberArgs & { roles: string[] }, ctx) => {
        await requireVisible(ctx, args.organizationId);
        const userId = requireUserId(args.userId);
        const membership = await ctx.services.memberships.changeRoles(
          args.organizationId,
          callerId(ctx),
          userId,
          args.roles,
        );
        ctx.changed({ userIds: [userId], organizationId: args.organizationId });
        return membership;
      },
      removeMember: async (_p, args: MemberArgs, ctx) => {
        await requireVisible(ctx, args.organizationId);
        const userId = requireUserId(args.userId);
        await ctx.services.memberships.remove(args.organizationId, callerId(ctx), userId);
        ctx.changed({ userIds: [userId], organizationId: args.organizationId });
        return true;
      },
      leaveOrganization: async (_p, args: { organizationId: string }, ctx) => {
        await requireVisible(ctx, args.organizationId);
        await ctx.services.memberships.leave(args.organizationId, callerId(ctx));
        ctx.changed({ userIds: [callerId(ctx)], organizationId: args.organizationId });
        return true;
      },
    },
    Organization: {
      memberCount: async (org: Organization, _args, ctx) => (await ctx.memberCounts.load(org.id))?.count ?? 0,
      members: async (org: Organization, args: { first?: number | null; after?: string | null }, ctx) => {
        const first = pageSize(args.first, { max: MAX_MEMBER_PAGE, default: 100 });
        if (args.after == null) return ctx.firstMembers(first).load(org.id);
        const after = parseMemberCursor(args.after);
        if (!after) throw badUserInput('after is not a member cursor', 'after');
        return ctx.services.repos.memberships.membersAfter(org.id, after, first);
      },
      member: async (org: Organization, { userId }: { userId: string }, ctx) => {
        if (!isUuid(userId)) return null;
        const of = await ctx.membershipsOfUser.load(userId);
        return of.find((m) => m.organizationId === org.id) ?? null;
      },
    },
    Membership: {
      organization: (m: Membership, _args, ctx) => ctx.organizations.load(m.organizationId),
      user: (m: Membership) => ({ __typename: 'User', id: m.userId }),
      joinedAt: (m: Membership) => m.createdAt,
      cursor: (m: Membership) => memberCursor(m),
    },
    User: {
      __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
      organizations: async (user: { id: string }, _args, ctx) => {
        const of = await visibleMemberships(ctx, user.id);
        const orgs = await ctx.organizations.loadMany(of.map((m) => m.organizationId));
        return orgs.filter((o): o is Organization => o !== null && !(o instanceof Error));
      },
      memberships: (user: { id: string }, _args, ctx) => visibleMemberships(ctx, user.id),
    },
  },
});
