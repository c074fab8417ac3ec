// Who may see and change an organization, shared by the modules that extend Organization. Membership comes from
// the database (the authority; tokens may be a moment old), through the request's DataLoader. Mutations
// authorize again against the locked member list inside their transaction (organization-lock.ts).
//
// An API key (caller.kind 'apiKey') acts only in its own organization (caller.organizationId) and only by its
// scopes — the key's scopes met with its owner's current roles there, as identity verified them: member-level
// fields need org:read, administrators' fields (billing, invitations, audit log) org:admin, and the owner must
// still hold the matching role. Any other organization of the owner looks like no organization at all.
import { callerIsPlatformAdmin, hasScopes, isPlatformAdmin, or, PLATFORM_SCOPES, rule } from '@g3d/auth';
import type { Organization } from '@g3d/db';
import { AppError, forbidden, notFound, unauthenticated } from '@g3d/errors';
import { isUuid } from '@g3d/kit';

import type { OrganizationContext } from '../../context.ts';
import { ADMIN_ROLES } from '../memberships/roles.ts';

/** The caller's roles in an organization ([] when not a member, and for an API key outside its organization). */
export async function rolesIn(ctx: OrganizationContext, organizationId: string): Promise<string[]> {
  if (!ctx.caller.userId) return [];
  if (ctx.caller.kind === 'apiKey' && ctx.caller.organizationId !== organizationId) return [];
  const memberships = await ctx.membershipsOfUser.load(ctx.caller.userId);
  return memberships.find((m) => m.organizationId === organizationId)?.roles ?? [];
}

/** An API key needs `scope` for what its owner's role allows; a person needs only the role. */
const keyHolds = (ctx: OrganizationContext, scope: string) =>
  ctx.caller.kind !== 'apiKey' || hasScopes(ctx.caller, [scope]);

const missingKeyScope = (scope: string) =>
  new AppError('FORBIDDEN', `This API key lacks the scope ${scope}`, { reason: 'MISSING_SCOPE', scope });

/** The caller reads the organization as a member (an API key: in its organization, with org:read). */
export async function readsAsMember(ctx: OrganizationContext, organizationId: string): Promise<boolean> {
  return (await rolesIn(ctx, organizationId)).length > 0 && keyHolds(ctx, PLATFORM_SCOPES.orgRead);
}

/** The caller is a member of the parent organization. Parent-dependent: never cached. */
export const isMemberOfParentOrganization = rule({ cache: 'no_cache' })(async (
  parent: { id: string },
  _args,
  ctx: OrganizationContext,
) => {
  if (ctx.caller.kind === 'anonymous' || !ctx.caller.userId) return unauthenticated();
  if ((await rolesIn(ctx, parent.id)).length === 0) return forbidden('Not a member of this organization');
  return keyHolds(ctx, PLATFORM_SCOPES.orgRead) || missingKeyScope(PLATFORM_SCOPES.orgRead);
});

/** The caller is an owner or admin of the parent organization. Parent-dependent: never cached. */
export const isAdminOfParentOrganization = rule({ cache: 'no_cache' })(async (
  parent: { id: string },
  _args,
  ctx: OrganizationContext,
) => {
  if (!ctx.caller.userId) return unauthenticated();
  if (!(await rolesIn(ctx, parent.id)).some((r) => ADMIN_ROLES.has(r)))
    return forbidden('Organization administrators only');
  return keyHolds(ctx, PLATFORM_SCOPES.orgAdmin) || missingKeyScope(PLATFORM_SCOPES.orgAdmin);
});

/** Organization fields for its members (and platform administrators). */
export const orgMembers = or(isMemberOfParentOrganization, isPlatformAdmin);
/** Organization fields for its owners and admins (and platform administrators). */
export const orgAdmins = or(isAdminOfParentOrganization, isPlatformAdmin);

/**
 * An organization the caller may see: a member (an API key: its own organization, with org:read), or a platform
 * admin. Anything else looks like no organization.
 */
export async function visible(
  ctx: OrganizationContext,
  organization: Organization | null,
): Promise<Organization | null> {
  if (!organization) return null;
  if (callerIsPlatformAdmin(ctx.caller)) return organization;
  return (await readsAsMember(ctx, organization.id)) ? organization : null;
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
