// The security audit log: the signed-in person's own events, and every account's for platform administrators.
import { isAuthenticated, isPlatformAdmin, isSignedInUser } from '@g3d/auth';
import { defineModule, loadSdl, pageSize } from '@g3d/kit';

import { type IdentityContext, requireUser } from '../../context.ts';

const PAGE = { max: 200, default: 50 };

interface PageArgs {
  first?: number | null;
  before?: string | null;
}

export const auditModule = defineModule<IdentityContext>({
  name: 'audit',
  typeDefs: loadSdl(import.meta.url, './schema.graphql'),
  rules: {
    // A person's security events (sign-ins, addresses, devices) are theirs: never an API key's to read.
    Query: { myAuditEvents: isSignedInUser, auditEvents: isPlatformAdmin },
    AuditEvent: isAuthenticated,
    AuditEventPage: isAuthenticated,
  },
  resolvers: {
    Query: {
      myAuditEvents: (_p, args: PageArgs, ctx) =>
        ctx.services.audit.page({ userId: requireUser(ctx) }, pageSize(args.first, PAGE), args.before ?? undefined),
      auditEvents: (_p, args: PageArgs & { userId?: string | null; type?: string | null }, ctx) =>
        ctx.services.audit.page(
          { ...(args.userId ? { userId: args.userId } : {}), ...(args.type ? { type: args.type } : {}) },
          pageSize(args.first, PAGE),
          args.before ?? undefined,
        ),
    },
  },
});
