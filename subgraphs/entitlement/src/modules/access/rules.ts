// Who may do what in entitlement (README: Entitlements and metering, the table of rules). Entitlement keeps
// no membership table: a field about an organization is allowed in the caller's current organization, with the
// scope the RBAC model grants there (packages/auth/src/rbac.ts). Each shield rule is built once.
import {
  and,
  hasScope,
  isOrgMember,
  isPlatformAdmin,
  isSignedInUser,
  or,
  organizationIdArgument,
  type OrganizationIdOf,
  parentOrganization,
  PLATFORM_SCOPES,
  rule,
} from '@g3d/auth';
import { forbidden, unauthenticated } from '@g3d/errors';

import type { EntitlementContext } from '../../context.ts';

const readsBilling = hasScope(PLATFORM_SCOPES.billingRead);
const managesBilling = hasScope(PLATFORM_SCOPES.billingAdmin);
const subscriptionOrganization: OrganizationIdOf = (parent) => (parent as { organizationId?: unknown }).organizationId;

/** Members of the parent organization (their current one) and platform administrators: plan, entitlements. */
export const memberOfParent = or(isOrgMember(parentOrganization), isPlatformAdmin);

/** Owners, admins and the billing role of the parent organization (billing:read): its usage. */
export const billingReaderOfParent = or(and(isOrgMember(parentOrganization), readsBilling), isPlatformAdmin);

/** The same for fields of a Subscription (its organizationId): Stripe's ids. */
export const billingReaderOfSubscription = or(
  and(isOrgMember(subscriptionOrganization), readsBilling),
  isPlatformAdmin,
);

/** Owners (billing:admin) acting in the organization named by the argument, signed in (not an API key). */
export const ownerOfArgument = and(isSignedInUser, isOrgMember(organizationIdArgument), managesBilling);

/** The parent user is the caller (a person, or the owner of the calling API key). Parent-dependent: not cached. */
export const isCaller = rule({ cache: 'no_cache' })((parent: { id?: unknown }, _args, ctx: EntitlementContext) => {
  if (ctx.caller.kind === 'anonymous' || !ctx.caller.userId) return unauthenticated();
  return parent.id === ctx.caller.userId || forbidden('Only your own service access');
});
