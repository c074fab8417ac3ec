// Messages between the bench process (servers) and the load-generator child process (autocannon).

/** What a 2xx response must look like to count as a success. */
export type BodyCheck =
  /** Byte-for-byte the body verified by hand before the run. */
  | { kind: 'exact'; body: string }
  /** GraphQL: no `errors` key, and the same body as verified by hand (else counted as a mismatch). */
  | { kind: 'graphql'; body: string }
  /**
   * GraphQL whose bodies differ on every response (a fresh token each time): no `errors` key, and a non-empty
   * string at `data.<path>` (else counted as a mismatch).
   */
  | { kind: 'graphql-field'; path: string[] };

export interface LoadJob {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  check: BodyCheck;
  connections: number;
  durationS: number;
  warmupS: number;
  /** Per-request timeout, seconds. */
  timeoutS: number;
}

export interface LoadStats {
  requests: number;
  durationS: number;
  rps: number;
  /** Latency in milliseconds. */
  latency: { mean: number; p50: number; p90: number; p99: number; max: number };
  throughputBytesPerS: number;
  errors: ErrorCounts;
  /** Responses per HTTP status. */
  statusCodes: Record<string, number>;
  /** A few failing response bodies (truncated), to see what went wrong. */
  samples: string[];
}

export interface ErrorCounts {
  /** Responses with a status outside 2xx. */
  non2xx: number;
  /** 2xx responses whose body carries GraphQL `errors`. */
  graphqlErrors: number;
  /** 2xx responses without errors whose body differs from the verified one (or lacks the expected field). */
  mismatches: number;
  /** Connection errors and timeouts (autocannon's `errors`, which includes `timeouts`). */
  connection: number;
  timeouts: number;
  total: number;
}

export type ParentMessage = { type: 'run'; job: LoadJob } | { type: 'headers'; headers: Record<string, string> };

export type ChildMessage =
  | { type: 'ready' }
  /** Warm-up over: the measured run starts now (the parent starts its CPU accounting). */
  | { type: 'measuring' }
  | { type: 'result'; warmup: LoadStats | null; measured: LoadStats }
  | { type: 'error'; message: string };
