// Signing in and out: password (then the second factor when enabled), refresh, switching organization,
// changing the password. The session bookkeeping behind it is the sessions module's.
import { isPublic, isSignedInUser } from '@g3d/auth';
import { defineModule, loadSdl } from '@g3d/kit';

import { type IdentityContext, requireUser } from '../../context.ts';
import type { IssuedTokens } from '../sessions/sessions.service.ts';
import type { LoginInput } from './auth.service.ts';

/** Remembers who signed in with this request, so the tokens' `user` shows them their own fields. */
const signIn = <T extends IssuedTokens>(ctx: IdentityContext, tokens: T): T => {
  ctx.signedIn.userId = tokens.user.id;
  return tokens;
};

interface ChangePasswordInput {
  currentPassword: string;
  newPassword: string;
  endOtherSessions?: boolean | null;
}

export const authModule = defineModule<IdentityContext>({
  name: 'auth',
  typeDefs: loadSdl(import.meta.url, './schema.graphql'),
  mfaEnrolmentFields: ['Mutation.refreshTokens', 'Mutation.switchOrganization', 'Mutation.logout'],
  rules: {
    Mutation: {
      login: isPublic,
      loginWithMfa: isPublic,
      refreshTokens: isPublic,
      switchOrganization: isSignedInUser,
      logout: isSignedInUser,
      changePassword: isSignedInUser,
    },
    AuthTokens: isPublic,
    AccessToken: isSignedInUser,
  },
  resolvers: {
    Mutation: {
      login: async (_p, { input }: { input: LoginInput }, ctx) =>
        signIn(ctx, await ctx.services.auth.login(input, ctx.client)),
      loginWithMfa: async (_p, { input }: { input: { mfaToken: string; code: string } }, ctx) =>
        signIn(ctx, await ctx.services.auth.loginWithMfa(input, ctx.client)),
      refreshTokens: async (_p, { refreshToken }: { refreshToken: string }, ctx) =>
        signIn(ctx, await ctx.services.auth.refresh(refreshToken, ctx.client)),
      switchOrganization: (_p, { organizationId }: { organizationId: string }, ctx) =>
        ctx.services.auth.switchOrganization(ctx.caller, organizationId),
      logout: (_p, _a, ctx) =>
        ctx.caller.sessionId
          ? ctx.services.sessions.logout(ctx.caller.sessionId, ctx.caller.userId, ctx.client)
          : false,
      changePassword: async (_p, { input }: { input: ChangePasswordInput }, ctx) => {
        const endOtherSessions = input.endOtherSessions ?? true;
        await ctx.services.auth.changePassword(
          requireUser(ctx),
          ctx.caller.sessionId,
          { ...input, endOtherSessions },
          ctx.client,
        );
        return true;
      },
    },
  },
});
