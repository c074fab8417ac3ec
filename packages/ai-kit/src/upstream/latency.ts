// Call latency over a rolling window with fixed memory: a ring of the most recent samples (duration and time)
// for the quantiles, and a count per 10-second bucket so `count` stays exact when calls outnumber the ring.
// Quantiles are exact over the samples still in the window (nearest rank); at more than `maxSamples` calls per
// window they describe the most recent `maxSamples` calls.

export interface LatencySnapshot {
  p50Ms: number | null;
  p99Ms: number | null;
  /** Calls recorded within the window (to a bucket's width). */
  count: number;
  windowSeconds: number;
}

const BUCKET_MS = 10_000;

export class LatencyWindow {
  readonly #durations: Float64Array;
  readonly #recordedAt: Float64Array;
  #next = 0;
  #size = 0;
  readonly #bucketIds: Float64Array;
  readonly #bucketCounts: Float64Array;

  constructor(
    readonly windowMs = 5 * 60_000,
    readonly maxSamples = 2048,
  ) {
    this.#durations = new Float64Array(maxSamples);
    this.#recordedAt = new Float64Array(maxSamples);
    const buckets = Math.ceil(windowMs / BUCKET_MS);
    this.#bucketIds = new Float64Array(buckets).fill(-1);
    this.#bucketCounts = new Float64Array(buckets);
  }

  record(durationMs: number, at: number): void {
    this.#durations[this.#next] = durationMs;
    this.#recordedAt[this.#next] = at;
    this.#next = (this.#next + 1) % this.maxSamples;
    this.#size = Math.min(this.#size + 1, this.maxSamples);

    const bucketId = Math.floor(at / BUCKET_MS);
    const slot = bucketId % this.#bucketIds.length;
    if (this.#bucketIds[slot] !== bucketId) {
      this.#bucketIds[slot] = bucketId;
      this.#bucketCounts[slot] = 0;
    }
    this.#bucketCounts[slot] = (this.#bucketCounts[slot] ?? 0) + 1;
  }

  snapshot(now: number): LatencySnapshot {
    const since = now - this.windowMs;
    const recent: number[] = [];
    for (let i = 0; i < this.#size; i++) {
      if ((this.#recordedAt[i] ?? 0) > since) recent.push(this.#durations[i] ?? 0);
    }
    recent.sort((a, b) => a - b);

    const oldestBucket = Math.floor(now / BUCKET_MS) - this.#bucketIds.length + 1;
    let count = 0;
    this.#bucketIds.forEach((id, slot) => {
      if (id >= oldestBucket) count += this.#bucketCounts[slot] ?? 0;
    });

    return {
      p50Ms: nearestRank(recent, 0.5),
      p99Ms: nearestRank(recent, 0.99),
      count,
      windowSeconds: this.windowMs / 1000,
    };
  }
}

function nearestRank(sorted: readonly number[], quantile: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil(quantile * sorted.length) - 1)] ?? null;
}
