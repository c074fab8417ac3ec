// Who may see and change an organization, shared by the modules that extend Organization. Membership comes from
// the database (the authority; tokens may be a moment old), through the request's DataLoader. Mutations
// authorize again against the locked member list inside their transaction (organization-lock.ts).
import { callerIsPlatformAdmin, isPlatformAdmin, or, rule } from '@g3d/auth';
import type { Organization } from '@g3d/db';
import { forbidden, notFound, unauthenticated } from '@g3d/errors';
import { isUuid } from '@g3d/kit';

import type { OrganizationContext } from '../../context.ts';
import { ADMIN_ROLES } from '../memberships/roles.ts';

/** The caller's roles in an organization ([] when not a member). */
export async function rolesIn(ctx: OrganizationContext, organizationId: string): Promise<string[]> {
  if (!ctx.caller.userId) return [];
  const memberships = await ctx.membershipsOfUser.load(ctx.caller.userId);
  return memberships.find((m) => m.organizationId === organizationId)?.roles ?? [];
}

/** The caller is a member of the parent organization. Parent-dependent: never cached. */
export const isMemberOfParentOrganization = rule({ cache: 'no_cache' })(async (
  parent: { id: string },
  _args,
  ctx: OrganizationContext,
) => {
  if (ctx.caller.kind === 'anonymous' || !ctx.caller.userId) return unauthenticated();
  return (await rolesIn(ctx, parent.id)).length > 0 || forbidden('Not a member of this organization');
});

/** The caller is an owner or admin of the parent organization. Parent-dependent: never cached. */
export const isAdminOfParentOrganization = rule({ cache: 'no_cache' })(async (
  parent: { id: string },
  _args,
  ctx: OrganizationContext,
) => {
  if (!ctx.caller.userId) return unauthenticated();
  return (
    (await rolesIn(ctx, parent.id)).some((r) => ADMIN_ROLES.has(r)) || forbidden('Organization administrators only')
  );
});

/** Organization fields for its members (and platform administrators). */
export const orgMembers = or(isMemberOfParentOrganization, isPlatformAdmin);
/** Organization fields for its owners and admins (and platform administrators). */
export const orgAdmins = or(isAdminOfParentOrganization, isPlatformAdmin);

/** An organization the caller may see: a member, or a platform admin. Anything else looks like no organization. */
export async function visible(
  ctx: OrganizationContext,
  organization: Organization | null,
): Promise<Organization | null> {
  if (!organization) return null;
  if (callerIsPlatformAdmin(ctx.caller)) return organization;
  return (await rolesIn(ctx, organization.id)).length > 0 ? organization : null;
}

/** Strangers get NOT_FOUND for any organization they cannot see, existing or not. */
export async function requireVisible(ctx: OrganizationContext, id: string): Promise<Organization> {
  const organization = isUuid(id) ? await visible(ctx, await ctx.organizations.load(id)) : null;
  if (!organization) throw notFound('No such organization');
  return organization;
}

/** The signed-in caller (mutations are guarded by isSignedInUser: the user id is set). */
export const callerId = (ctx: OrganizationContext) => ctx.caller.userId as string;

/** The caller as services check it. */
export const actorOf = (ctx: OrganizationContext) => ({
  userId: callerId(ctx),
  isPlatformAdmin: callerIsPlatformAdmin(ctx.caller),
});
