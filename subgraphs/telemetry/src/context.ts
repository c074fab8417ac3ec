// Telemetry's per-request context: the process-wide services.
import type { BaseContext } from '@g3d/kit';

import type { HealthTarget } from './modules/health/health.service.ts';

export interface TelemetryServices {
  /** The services to check: every other service this process knows of. */
  targets: () => HealthTarget[];
}

export interface TelemetryContext extends BaseContext {
  services: TelemetryServices;
}
