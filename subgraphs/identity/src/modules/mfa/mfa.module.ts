// TOTP second factor: enrol (the only fields open to a member whose organization enforces MFA before they
// have it), backup codes, turning it off.
import { isSignedInUser } from '@g3d/auth';
import { defineModule, loadSdl } from '@g3d/kit';

import { type IdentityContext, requireUser } from '../../context.ts';

export const mfaModule = defineModule<IdentityContext>({
  name: 'mfa',
  typeDefs: loadSdl(import.meta.url, './schema.graphql'),
  mfaEnrolmentFields: ['Mutation.beginMfaEnrollment', 'Mutation.confirmMfaEnrollment'],
  rules: {
    Mutation: {
      beginMfaEnrollment: isSignedInUser,
      confirmMfaEnrollment: isSignedInUser,
      regenerateBackupCodes: isSignedInUser,
      disableMfa: isSignedInUser,
    },
    MfaEnrollment: isSignedInUser,
    BackupCodes: isSignedInUser,
  },
  resolvers: {
    Mutation: {
      beginMfaEnrollment: (_p, { password }: { password: string }, ctx) =>
        ctx.services.mfa.beginEnrollment(requireUser(ctx), password, ctx.client),
      confirmMfaEnrollment: (_p, { code }: { code: string }, ctx) =>
        ctx.services.mfa.confirmEnrollment(requireUser(ctx), code, ctx.client),
      regenerateBackupCodes: (_p, { code }: { code: string }, ctx) =>
        ctx.services.mfa.regenerateBackupCodes(requireUser(ctx), code, ctx.client),
      disableMfa: async (_p, { password, code }: { password: string; code: string }, ctx) => {
        await ctx.services.mfa.disable(requireUser(ctx), password, code, ctx.client);
        return true;
      },
    },
  },
});
