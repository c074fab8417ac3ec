// Live health of every platform service, for operators and organization admins (telemetry:read).
import { hasScope, isPlatformAdmin, or } from '@g3d/auth';
import { defineModule, loadSdl } from '@g3d/kit';

import type { TelemetryContext } from '../../context.ts';
import { checkHealth } from './health.service.ts';

const canReadTelemetry = or(hasScope('telemetry:read'), isPlatformAdmin);

export const healthModule = defineModule<TelemetryContext>({
  name: 'health',
  typeDefs: loadSdl(import.meta.url, './schema.graphql'),
  rules: {
    Query: { serviceStatuses: canReadTelemetry },
    ServiceStatus: canReadTelemetry,
  },
  resolvers: {
    Query: {
      serviceStatuses: (_p, _a, ctx) => Promise.all(ctx.services.targets().map((target) => checkHealth(target))),
    },
  },
});
