// Registration with email verification, password reset, and the development mailbox that shows their mails
// when no SMTP server is configured.
import { and, isPlatformAdmin, isPublic, rule } from '@g3d/auth';
import { forbidden } from '@g3d/errors';
import { defineModule, loadSdl, normalizeEmail } from '@g3d/kit';

import type { IdentityContext } from '../../context.ts';
import type { RegisterInput } from './registration.service.ts';

/** Development and tests without SMTP only (IdentityServices.devMailbox); never in production. */
const devMailboxEnabled = rule('devMailboxEnabled', { cache: 'contextual' })(
  (_parent, _args, ctx: IdentityContext) => ctx.services.devMailbox || forbidden('The development mailbox is disabled'),
);

/** The link a mail carries (verification, reset, invitation): its first URL with a token. */
const LINK = /https?:\/\/\S+[?&]token=[A-Za-z0-9_-]+/;
const linkOf = (mail: { text: string }) => LINK.exec(mail.text)?.[0] ?? null;

export const registrationModule = defineModule<IdentityContext>({
  name: 'registration',
  typeDefs: loadSdl(import.meta.url, './schema.graphql'),
  rules: {
    // Reset links are credentials: platform administrators only, even in development.
    Query: { devMailbox: and(devMailboxEnabled, isPlatformAdmin) },
    Mutation: {
      register: isPublic,
      verifyEmail: isPublic,
      resendVerification: isPublic,
      requestPasswordReset: isPublic,
      resetPassword: isPublic,
    },
    RegistrationResult: isPublic,
    DevMail: isPublic,
  },
  resolvers: {
    Query: {
      devMailbox: (_p, { to }: { to: string }, ctx) => ctx.services.mailer.mailbox(normalizeEmail(to, 'to')),
    },
    DevMail: {
      link: (mail: { text: string }) => linkOf(mail),
      token: (mail: { text: string }) => {
        const link = linkOf(mail);
        return link ? new URL(link).searchParams.get('token') : null;
      },
    },
    Mutation: {
      register: async (_p, { input }: { input: RegisterInput }, ctx) => ({
        message: await ctx.services.registration.register(input, ctx.client),
      }),
      verifyEmail: async (_p, { token }: { token: string }, ctx) => {
        await ctx.services.registration.verifyEmail(token, ctx.client);
        return true;
      },
      resendVerification: async (_p, { email }: { email: string }, ctx) => {
        await ctx.services.registration.resendVerification(email, ctx.client);
        return true;
      },
      requestPasswordReset: async (_p, { email }: { email: string }, ctx) => {
        await ctx.services.registration.requestPasswordReset(email, ctx.client);
        return true;
      },
      resetPassword: async (_p, { input }: { input: { token: string; newPassword: string } }, ctx) => {
        await ctx.services.registration.resetPassword(input, ctx.client);
        return true;
      },
    },
  },
});
