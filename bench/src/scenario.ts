// What a scenario is, and the shared context scenarios run in. A scenario measures one thing and returns a
// Measurement; the runner prints each against a baseline measured in the same run (never absolute numbers
// alone: the machine is shared and noisy).
import type { BenchConfig } from './config.ts';
import type { ServerUsage } from './load/http-load.ts';
import type { ErrorCounts, LoadStats } from './load/protocol.ts';
import type { BenchPlatform } from './platform.ts';

export interface Measurement {
  /** Operations (HTTP requests, hashes, …) per second. */
  rps: number;
  /** Latency in milliseconds. */
  p50: number;
  p99: number;
  operations: number;
  durationS: number;
  /**
   * CPU milliseconds the bench process (the servers under test) spent per operation. Less sensitive to a noisy
   * box than req/s: other processes slow us down but do not add to our CPU time.
   */
  cpuMsPerOp: number | null;
  errors: ErrorCounts;
  /** Anything else worth keeping in the JSON (full load stats, status codes, sample failures, …). */
  details?: Record<string, unknown>;
}

export interface Scenario {
  /** Short id: used in BENCH_SCENARIOS, in `relativeTo`, and in the JSON. */
  name: string;
  title: string;
  /** Another scenario this one is compared with (printed as `this / that`), e.g. gateway vs direct subgraph. */
  relativeTo?: string;
  /** Needs the platform booted (the runner boots it once, lazily). */
  needsPlatform: boolean;
  run(ctx: BenchContext): Promise<Measurement>;
}

export interface BenchContext {
  config: BenchConfig;
  /** The platform under test, booted on first use and shared by every scenario. */
  platform(): Promise<BenchPlatform>;
  /** Registers cleanup to run at the end of the whole bench (servers a scenario started, …). */
  onClose(cleanup: () => Promise<void> | void): void;
  log(message: string): void;
}

/** A Measurement from one load-generator run. */
export function fromLoadStats(
  stats: LoadStats,
  server: ServerUsage,
  details: Record<string, unknown> = {},
): Measurement {
  return {
    rps: stats.rps,
    p50: stats.latency.p50,
    p99: stats.latency.p99,
    operations: stats.requests,
    durationS: stats.durationS,
    cpuMsPerOp: stats.requests > 0 ? server.cpuMs / stats.requests : null,
    errors: stats.errors,
    details: {
      latency: stats.latency,
      statusCodes: stats.statusCodes,
      samples: stats.samples,
      server: {
        ...server,
        // Above 1 means more than one core: PGlite, libuv and GC threads count too.
        cpuCores: server.wallMs > 0 ? server.cpuMs / server.wallMs : 0,
      },
      ...details,
    },
  };
}
