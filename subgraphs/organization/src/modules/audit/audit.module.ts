// The organization audit log, read by the organization's administrators.
import { isAuthenticated } from '@g3d/auth';
import type { Organization, OrganizationAuditEvent } from '@g3d/db';
import { defineModule, loadSdl, pageSize } from '@g3d/kit';

import type { OrganizationContext } from '../../context.ts';
import { orgAdmins } from '../organizations/access.ts';
import { MAX_AUDIT_PAGE } from './organization-audit.ts';

const userRef = (id: string | null) => (id ? { __typename: 'User', id } : null);

export const auditModule = defineModule<OrganizationContext>({
  name: 'audit',
  typeDefs: loadSdl(import.meta.url, './schema.graphql'),
  rules: {
    Organization: { auditLog: orgAdmins },
    // Reachable only through Organization.auditLog, which is guarded.
    OrganizationAuditEvent: isAuthenticated,
  },
  resolvers: {
    Organization: {
      auditLog: (org: Organization, args: { first?: number | null; before?: Date | null }, ctx) =>
        ctx.services.audit.list(
          org.id,
          pageSize(args.first, { max: MAX_AUDIT_PAGE, default: 50 }),
          args.before ?? null,
        ),
    },
    OrganizationAuditEvent: {
      actor: (e: OrganizationAuditEvent) => userRef(e.actorId),
      subject: (e: OrganizationAuditEvent) => userRef(e.subjectId),
    },
  },
});
