// The telemetry subgraph: service health (later metrics, alerts, live subscriptions). Wiring only.
import { baseModule, createSubgraph, defineService, loadSdl, subgraphDeps } from '@g3d/kit';

import type { TelemetryServices } from './context.ts';
import { healthModule } from './modules/health/health.module.ts';

export const telemetrySchema = {
  name: 'telemetry',
  modules: [baseModule(loadSdl(import.meta.url, './schema.graphql')), healthModule],
};

export const service = defineService({
  schema: () => telemetrySchema,
  build(context) {
    const services: TelemetryServices = {
      targets: () => context.knownServices().map(({ name, url }) => ({ service: name, url })),
    };
    return createSubgraph(
      { ...telemetrySchema, createContext: (base) => ({ ...base, services }) },
      subgraphDeps(context, { database: false }),
    );
  },
});
