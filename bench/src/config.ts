// Bench settings, read once from the environment (the only module that reads process.env).
export interface BenchConfig {
  /** Measured seconds per scenario (BENCH_DURATION_S, default 8). */
  durationS: number;
  /** Warm-up seconds before each measurement, not reported (BENCH_WARMUP_S, default min(2, duration / 4)). */
  warmupS: number;
  /** Concurrent connections of the load generator (BENCH_CONNECTIONS, default 50). */
  connections: number;
  /**
   * Logins in flight at once: the login scenarios' connections and argon2-raw's concurrent verifies, so that both
   * queue the same number of hashes (BENCH_CONNECTIONS capped at 16; the platform's per-account attempt window
   * is raised above it, see platform.ts).
   */
  loginConcurrency: number;
  /** libuv threadpool size, where @node-rs/argon2 hashes (UV_THREADPOOL_SIZE, default 4); for the report. */
  threadpoolSize: number;
  /** Only these scenarios, comma separated (BENCH_SCENARIOS); baselines they compare to are added. */
  only: string[] | null;
  /** The platform's log level (BENCH_LOG_LEVEL, default silent; e.g. error, to see why requests fail). */
  logLevel: string;
  /** Where the JSON results go (BENCH_RESULTS, default bench/results/latest.json). */
  resultsPath: string | null;
}

function number(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name} must be a number between ${min} and ${max} (got "${raw}")`);
  }
  return value;
}

export function loadBenchConfig(): BenchConfig {
  // Bounded on purpose: a shared 2-core box, loopback only, every run stops by itself.
  const durationS = number('BENCH_DURATION_S', 8, 1, 300);
  const warmupS = number('BENCH_WARMUP_S', Math.min(2, durationS / 4), 0, 60);
  const connections = Math.round(number('BENCH_CONNECTIONS', 50, 1, 1000));
  const only = process.env.BENCH_SCENARIOS?.trim()
    ? process.env.BENCH_SCENARIOS.split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : null;
  return {
    durationS,
    warmupS,
    connections,
    loginConcurrency: Math.min(connections, 16),
    threadpoolSize: Number(process.env.UV_THREADPOOL_SIZE) || 4,
    only,
    logLevel: process.env.BENCH_LOG_LEVEL?.trim() || 'silent',
    resultsPath: process.env.BENCH_RESULTS ?? null,
  };
}
