// Checks each service's /readyz with a timeout. (Periodic checks every 30 s with history and alerting come
// with the telemetry issue.)
import { probeReadiness } from '@g3d/kit';

export interface HealthTarget {
  service: string;
  /** Base URL of the service (its /readyz is checked). */
  url: string;
}

export interface HealthResult {
  service: string;
  status: 'HEALTHY' | 'UNHEALTHY';
  latencyMs: number;
  checkedAt: Date;
  error: string | null;
}

export async function checkHealth(target: HealthTarget, timeoutMs = 5_000): Promise<HealthResult> {
  const checkedAt = new Date();
  const { ok, latencyMs, error } = await probeReadiness(target.url, timeoutMs);
  return { service: target.service, status: ok ? 'HEALTHY' : 'UNHEALTHY', latencyMs, checkedAt, error };
}
