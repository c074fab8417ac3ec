// Shield rules named after what they allow. Rules that depend only on the caller are cached per request
// ('contextual'); rules that depend on the parent object are never cached ('no_cache'), because a cached
// decision would leak from one entity to the next in an `_entities` batch.
import { forbidden, unauthenticated } from '@g3d/errors';
import { allow, and, deny, not, or, rule } from 'graphql-shield';

import { type Caller, callerIsPlatformAdmin, hasScopes } from './caller.ts';
import { PLATFORM_SCOPES } from './rbac.ts';

export interface AuthContext {
  caller: Caller;
}

export { allow, and, deny, not, or, rule };

/** Anyone, including anonymous callers (login, public catalogue). */
export const isPublic = allow;

export const isAuthenticated = rule('isAuthenticated', { cache: 'contextual' })(
  (_parent, _args, ctx: AuthContext) => ctx.caller.kind !== 'anonymous' || unauthenticated(),
);

export const isPlatformAdmin = rule('isPlatformAdmin', { cache: 'contextual' })((_parent, _args, ctx: AuthContext) => {
  if (ctx.caller.kind === 'anonymous') return unauthenticated();
  return callerIsPlatformAdmin(ctx.caller) || forbidden('Platform administrators only');
});

export function hasScope(...scopes: string[]) {
  return rule(`hasScope(${scopes.join(',')})`, { cache: 'contextual' })((_parent, _args, ctx: AuthContext) => {
    if (ctx.caller.kind === 'anonymous') return unauthenticated();
    return hasScopes(ctx.caller, scopes) || forbidden(`Missing scope: ${scopes.join(' ')}`);
  });
}

/** The parent object is the caller's own user record (`idOf` picks the user id from the parent). */
export function isSelf(idOf: (parent: unknown) => unknown = (parent) => (parent as { id?: unknown }).id) {
  return rule({ cache: 'no_cache' })((parent, _args, ctx: AuthContext) => {
    if (ctx.caller.kind === 'anonymous') return unauthenticated();
    return (ctx.caller.userId !== null && idOf(parent) === ctx.caller.userId) || forbidden();
  });
}

/** A signed-in person (a session), not an API key: managing credentials, sessions, creating organizations. */
export const isSignedInUser = rule('isSignedInUser', { cache: 'contextual' })((_parent, _args, ctx: AuthContext) => {
  if (ctx.caller.kind === 'anonymous') return unauthenticated();
  return (ctx.caller.kind === 'user' && ctx.caller.userId !== null) || forbidden('Sign in as a user for this');
});

/** Picks the organization a field is about from its parent object and arguments. */
export type OrganizationIdOf = (parent: unknown, args: Record<string, unknown>) => unknown;

/** The field is about the organization itself: the parent is an Organization. */
export const parentOrganization: OrganizationIdOf = (parent) => (parent as { id?: unknown }).id;
/** The field names the organization in an `organizationId` argument. */
export const organizationIdArgument: OrganizationIdOf = (_parent, args) => args.organizationId;

function currentOrganizationRule(organizationIdOf: OrganizationIdOf, scope: string | null) {
  // Parent- and argument-dependent: never cached (see the top of this file).
  // Unnamed: shield refuses two different rules under one name.
  return rule({ cache: 'no_cache' })((parent, args: Record<string, unknown>, ctx: AuthContext) => {
    if (ctx.caller.kind === 'anonymous') return unauthenticated();
    const organizationId = organizationIdOf(parent, args);
    if (typeof organizationId !== 'string' || organizationId !== ctx.caller.organizationId) {
      return forbidden('Switch to this organization first (it is not your current organization)');
    }
    return scope === null || hasScopes(ctx.caller, [scope]) || forbidden(`Missing scope: ${scope}`);
  });
}

/**
 * The caller acts in the organization the field is about: it is the current organization of their token (whose
 * roles and scopes were issued by identity from the caller's membership). For subgraphs that keep no membership
 * table of their own.
 */
export function isOrgMember(organizationIdOf: OrganizationIdOf) {
  return currentOrganizationRule(organizationIdOf, PLATFORM_SCOPES.orgRead);
}

/** As isOrgMember, and the caller administers that organization (scope org:admin: owners and admins). */
export function isOrgAdmin(organizationIdOf: OrganizationIdOf) {
  return currentOrganizationRule(organizationIdOf, PLATFORM_SCOPES.orgAdmin);
}
