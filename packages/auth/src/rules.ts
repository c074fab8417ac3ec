// Shield rules named after what they allow. Rules that depend only on the caller are cached per request
// ('contextual'); rules that depend on the parent object are never cached ('no_cache'), because a cached
// decision would leak from one entity to the next in an `_entities` batch.
import { AppError, forbidden, unauthenticated } from '@g3d/errors';
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

/**
 * The refusal of a caller whose token (or API key) lacks `scopes` here, saying what to do: a person acting in no
 * organization, or in another one, switches (`switchOrganization`, or `refreshTokens` after joining or creating
 * their first); an API key acts in its own organization with its own scopes only.
 */
export function missingScope(caller: Caller, scopes: readonly string[]): AppError {
  const wanted = scopes.join(' ');
  if (caller.kind === 'apiKey') {
    return new AppError('FORBIDDEN', `This API key lacks the scope ${wanted}`, { reason: 'MISSING_SCOPE', scopes });
  }
  if (!caller.organizationId) {
    return new AppError(
      'FORBIDDEN',
      `Missing scope ${wanted}: your token acts in no organization; call switchOrganization(organizationId) for one ` +
        'of yours (or refreshTokens after joining or creating your first)',
      { reason: 'SWITCH_ORGANIZATION', scopes },
    );
  }
  return new AppError(
    'FORBIDDEN',
    `Missing scope ${wanted} in your current organization; call switchOrganization(organizationId) for one where ` +
      'your roles grant it (or refreshTokens if they just changed)',
    { reason: 'MISSING_SCOPE', scopes, organizationId: caller.organizationId },
  );
}

export function hasScope(...scopes: string[]) {
  return rule(`hasScope(${scopes.join(',')})`, { cache: 'contextual' })((_parent, _args, ctx: AuthContext) => {
    if (ctx.caller.kind === 'anonymous') return unauthenticated();
    return hasScopes(ctx.caller, scopes) || missingScope(ctx.caller, scopes);
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

/** The field is about another organization than the caller's current one: what to do about it. */
function notCurrentOrganization(caller: Caller, organizationId: unknown): AppError {
  if (caller.kind === 'apiKey') {
    return new AppError('FORBIDDEN', 'This API key acts only in the organization it was created in', {
      reason: 'API_KEY_ORGANIZATION',
    });
  }
  const id = typeof organizationId === 'string' && organizationId.length <= 64 ? organizationId : null;
  return new AppError(
    'FORBIDDEN',
    `Not your current organization: call switchOrganization(organizationId${id ? `: "${id}"` : ''}) for a token ` +
      'acting in it (or refreshTokens after joining or creating your first organization)',
    { reason: 'SWITCH_ORGANIZATION', ...(id ? { organizationId: id } : {}) },
  );
}

function currentOrganizationRule(organizationIdOf: OrganizationIdOf, scope: string | null) {
  // Parent- and argument-dependent: never cached (see the top of this file).
  // Unnamed: shield refuses two different rules under one name.
  return rule({ cache: 'no_cache' })((parent, args: Record<string, unknown>, ctx: AuthContext) => {
    if (ctx.caller.kind === 'anonymous') return unauthenticated();
    const organizationId = organizationIdOf(parent, args);
    if (typeof organizationId !== 'string' || organizationId !== ctx.caller.organizationId) {
      return notCurrentOrganization(ctx.caller, organizationId);
    }
    return scope === null || hasScopes(ctx.caller, [scope]) || missingScope(ctx.caller, [scope]);
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
