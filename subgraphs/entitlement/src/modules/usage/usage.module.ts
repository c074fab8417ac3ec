// Usage reports: the organization's (owners, admins, billing) and a member's own, with CSV and JSON export.
import { isAuthenticated } from '@g3d/auth';
import { badUserInput } from '@g3d/errors';
import { defineModule, isUuid, loadSdl } from '@g3d/kit';

import type { EntitlementContext } from '../../context.ts';
import { billingReaderOfParent, memberOfParent } from '../access/rules.ts';
import type { UsageReport, UsageReportArgs } from './usage.service.ts';
import { usageCsv, usageJson } from './usage-export.ts';

const orgId = (org: { id: string }) => {
  if (!isUuid(org.id)) throw badUserInput('Invalid organization id', 'organizationId');
  return org.id.toLowerCase();
};

export const usageModule = defineModule<EntitlementContext>({
  name: 'usage',
  typeDefs: loadSdl(import.meta.url, './schema.graphql'),
  rules: {
    Organization: { usage: billingReaderOfParent, myUsage: memberOfParent },
    // Reachable only through the guarded fields above.
    UsageReport: isAuthenticated,
    UsageRow: isAuthenticated,
    UsageTotals: isAuthenticated,
    UsageServiceTotal: isAuthenticated,
  },
  resolvers: {
    Organization: {
      usage: (org: { id: string }, args: UsageReportArgs, ctx) => ctx.services.usage.report(orgId(org), args),
      myUsage: (org: { id: string }, args: UsageReportArgs, ctx) =>
        ctx.services.usage.report(orgId(org), { ...args, userId: ctx.caller.userId, byUser: false }),
    },
    UsageReport: {
      export: (report: UsageReport, args: { format: 'CSV' | 'JSON' }) =>
        args.format === 'CSV' ? usageCsv(report) : usageJson(report),
    },
  },
});
