// The caller's signed-in devices and clients: list them, end one, end all but the current one.
import { isAuthenticated, isSignedInUser } from '@g3d/auth';
import { defineModule, loadSdl } from '@g3d/kit';

import { type IdentityContext, requireUser } from '../../context.ts';

export const sessionsModule = defineModule<IdentityContext>({
  name: 'sessions',
  typeDefs: loadSdl(import.meta.url, './schema.graphql'),
  rules: {
    Query: { mySessions: isSignedInUser },
    Mutation: { revokeSession: isSignedInUser, revokeOtherSessions: isSignedInUser },
    Session: isAuthenticated,
  },
  resolvers: {
    Query: {
      mySessions: async (_p, _a, ctx) =>
        (await ctx.services.sessions.listActive(requireUser(ctx))).map((s) => ({
          ...s,
          current: s.id === ctx.caller.sessionId,
        })),
    },
    Mutation: {
      revokeSession: async (_p, { id }: { id: string }, ctx) => {
        await ctx.services.sessions.revokeOwn(requireUser(ctx), id, ctx.client);
        return true;
      },
      revokeOtherSessions: (_p, _a, ctx) =>
        ctx.services.sessions.revokeOthers(requireUser(ctx), ctx.caller.sessionId, ctx.client),
    },
  },
});
