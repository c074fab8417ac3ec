// Checks each service's /readyz with a timeout. (Periodic checks every 30 s with history and alerting come
// with the telemetry issue.)
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
  const started = performance.now();
  const checkedAt = new Date();
  try {
    const response = await fetch(new URL('/readyz', target.url), { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    const latencyMs = Math.round(performance.now() - started);
    return response.ok
      ? { service: target.service, status: 'HEALTHY', latencyMs, checkedAt, error: null }
      : { service: target.service, status: 'UNHEALTHY', latencyMs, checkedAt, error: `HTTP ${response.status}` };
  } catch (error) {
    const latencyMs = Math.round(performance.now() - started);
    const reason = error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : 'unreachable';
    return { service: target.service, status: 'UNHEALTHY', latencyMs, checkedAt, error: reason };
  }
}
