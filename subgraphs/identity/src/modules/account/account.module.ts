// GDPR / CCPA: the caller's data export and the erasure of their account.
import { isSignedInUser } from '@g3d/auth';
import { defineModule, loadSdl } from '@g3d/kit';

import { type IdentityContext, requireUser } from '../../context.ts';

export const accountModule = defineModule<IdentityContext>({
  name: 'account',
  typeDefs: loadSdl(import.meta.url, './schema.graphql'),
  rules: {
    Query: { myDataExport: isSignedInUser },
    Mutation: { eraseMyAccount: isSignedInUser },
  },
  resolvers: {
    Query: {
      myDataExport: (_p, _a, ctx) => ctx.services.account.export(requireUser(ctx), ctx.client),
    },
    Mutation: {
      eraseMyAccount: async (_p, args: { password: string; code?: string | null }, ctx) => {
        await ctx.services.account.erase(requireUser(ctx), args, ctx.client);
        return true;
      },
    },
  },
});
