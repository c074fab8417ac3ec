// Accounts as others see them (the User entity) and the user's own profile, preferences and consent. An API key
// is not its owner: `me` is the owner's public profile, their account state only with org:read, never their
// preferences, consent or login history (README, Security model).
import {
  hasScopes,
  isAuthenticated,
  isPlatformAdmin,
  isPublic,
  isSignedInUser,
  or,
  PLATFORM_SCOPES,
  rule,
} from '@g3d/auth';
import { AppError, forbidden, unauthenticated } from '@g3d/errors';
import { defineModule, loadSdl } from '@g3d/kit';

import { type IdentityContext, requireUser } from '../../context.ts';
import { type PreferencesPatch, readPreferences } from './preferences.ts';
import type { UserRecord } from './users.repository.ts';
import type { ConsentInput, ProfileInput } from './users.service.ts';

/**
 * The parent user is the signed-in person calling (an API key is not: see the key rules below), or the user who
 * just signed in with this very request.
 */
const isSelfPerson = rule({ cache: 'no_cache' })((parent: { id: string }, _args, ctx: IdentityContext) => {
  if (ctx.signedIn.userId === parent.id) return true;
  if (ctx.caller.kind === 'anonymous') return unauthenticated();
  return (ctx.caller.kind === 'user' && ctx.caller.userId === parent.id) || forbidden();
});

/**
 * The caller is an API key of the parent user holding org:read: a key reads its owner's account state (email,
 * emailVerified, mfaEnabled) only with that scope; without scopes it sees the public profile only.
 */
const isOwnKeyWithOrgRead = rule({ cache: 'no_cache' })((parent: { id: string }, _args, ctx: IdentityContext) => {
  if (ctx.caller.kind !== 'apiKey' || ctx.caller.userId !== parent.id) return forbidden();
  return (
    hasScopes(ctx.caller, [PLATFORM_SCOPES.orgRead]) ||
    new AppError('FORBIDDEN', `This API key lacks the scope ${PLATFORM_SCOPES.orgRead}`, {
      reason: 'MISSING_SCOPE',
      scope: PLATFORM_SCOPES.orgRead,
    })
  );
});

/**
 * The caller administers their current organization (org:admin in the token, or in an API key's scopes: then the
 * key's organization) and the parent user is a member of it (asked from organization, batched per request).
 * Parent-dependent: never cached.
 */
const administersTheUser = rule({ cache: 'no_cache' })(async (parent: { id: string }, _args, ctx: IdentityContext) => {
  const organizationId = ctx.caller.organizationId;
  if (ctx.caller.kind === 'anonymous' || !organizationId || !hasScopes(ctx.caller, [PLATFORM_SCOPES.orgAdmin]))
    return forbidden();
  const memberships = await ctx.organizationsOfUser.load(parent.id);
  return memberships.some((m) => m.organizationId === organizationId) || forbidden();
});

const publicProfile = or(isAuthenticated, isSelfPerson);
const ownOrAdmin = or(isSelfPerson, isPlatformAdmin);
// Organization administrators see who their members are and whether they have MFA; an API key with org:read sees
// its owner's.
const ownOrAdministered = or(isOwnKeyWithOrgRead, ownOrAdmin, administersTheUser);
const ownOnly = isSelfPerson;

export const usersModule = defineModule<IdentityContext>({
  name: 'users',
  typeDefs: loadSdl(import.meta.url, './schema.graphql'),
  mfaEnrolmentFields: ['Query.me'],
  rules: {
    Query: { me: isPublic },
    Mutation: { updateProfile: isSignedInUser, updatePreferences: isSignedInUser, updateConsent: isSignedInUser },
    User: {
      id: publicProfile,
      displayName: publicProfile,
      firstName: publicProfile,
      lastName: publicProfile,
      email: ownOrAdministered,
      emailVerified: ownOrAdministered,
      mfaEnabled: ownOrAdministered,
      createdAt: ownOrAdmin,
      lastLoginAt: ownOrAdmin,
      preferences: ownOnly,
      consent: ownOnly,
    },
    // Reachable only through guarded parents (User.preferences/consent).
    Preferences: isPublic,
    NotificationPreferences: isPublic,
    PrivacyPreferences: isPublic,
    Consent: isPublic,
  },
  resolvers: {
    Query: {
      me: (_p, _a, ctx) => (ctx.caller.userId ? ctx.users.load(ctx.caller.userId) : null),
    },
    Mutation: {
      updateProfile: (_p, { input }: { input: ProfileInput }, ctx) =>
        ctx.services.profile.updateProfile(requireUser(ctx), input, ctx.client),
      updatePreferences: (_p, { input }: { input: PreferencesPatch }, ctx) =>
        ctx.services.profile.updatePreferences(requireUser(ctx), input),
      updateConsent: (_p, { input }: { input: ConsentInput }, ctx) =>
        ctx.services.profile.updateConsent(requireUser(ctx), input, ctx.client),
    },
    User: {
      __resolveReference: (ref: { id: string }, ctx: IdentityContext) => ctx.users.load(ref.id),
      preferences: (user: UserRecord) => readPreferences(user.preferences),
      consent: (user: UserRecord) => user,
    },
  },
});
