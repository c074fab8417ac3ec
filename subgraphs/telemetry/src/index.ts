// The telemetry subgraph: service health (and later metrics, alerts, live subscriptions).
import { hasScope, isPlatformAdmin, isPublic, or } from '@g3d/auth';
import { createSubgraph, DateTime, loadSdl, type SubgraphDefinition, type SubgraphDeps } from '@g3d/kit';

import { checkHealth, type HealthTarget } from './modules/health/health.service.ts';

export type { HealthTarget };

export const telemetryTypeDefs = loadSdl(import.meta.url, './schema.graphql');

const canReadTelemetry = or(hasScope('telemetry:read'), isPlatformAdmin);

export const telemetryPermissions = {
  Query: { serviceStatuses: canReadTelemetry, _service: isPublic },
  ServiceStatus: canReadTelemetry,
  _Service: isPublic,
};

export function telemetryDefinition(options: { targets: () => HealthTarget[] }): SubgraphDefinition<object> {
  return {
    name: 'telemetry',
    typeDefs: telemetryTypeDefs,
    permissions: telemetryPermissions,
    createContext: () => ({}),
    resolvers: {
      DateTime,
      Query: {
        serviceStatuses: () => Promise.all(options.targets().map((target) => checkHealth(target))),
      },
    },
  };
}

export function createTelemetryService(deps: SubgraphDeps, options: { targets: () => HealthTarget[] }) {
  return createSubgraph(telemetryDefinition(options), deps);
}
