// Numeric summaries of one column (over its non-null values) and the correlation of two.

/**
 * Rounds to 6 significant decimals: integers stay exact, |x| ≥ 1 keeps 6 decimal places, |x| < 1 keeps 6
 * significant digits (so 0.000001234 stays, and a sum of 1234567.891 is not rounded to 1234570).
 */
export function round6(value: number): number {
  if (Number.isInteger(value) || !Number.isFinite(value)) return value;
  const rounded = Math.abs(value) >= 1 ? Math.round(value * 1e6) / 1e6 : Number(value.toPrecision(6));
  return rounded === 0 ? 0 : rounded;
}

export interface NumericProfile {
  min: number;
  max: number;
  mean: number;
  /** Sample standard deviation (n − 1); null for a single value. */
  stddev: number | null;
  sum: number;
  quantiles: { p05: number; p25: number; p50: number; p75: number; p95: number };
  histogram: { bins: number; min: number; max: number; counts: number[] };
  outliers: { count: number; lowerFence: number; upperFence: number; examples: number[] };
}

/** Type 7 (linear interpolation between closest ranks) quantile of ascending `sorted`. */
export function quantile(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const low = Math.floor(h);
  const high = Math.min(sorted.length - 1, low + 1);
  return sorted[low]! + (h - low) * (sorted[high]! - sorted[low]!);
}

/** `values` in row order, without nulls (at least one). */
export function numericProfile(values: Float64Array, bins: number): NumericProfile {
  const n = values.length;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const mean = sum / n;
  let squares = 0;
  for (const v of values) squares += (v - mean) * (v - mean);
  const sorted = Float64Array.from(values).sort();
  const q = (p: number): number => quantile(sorted, p);
  const p25 = q(0.25);
  const p75 = q(0.75);
  const lowerFence = p25 - 1.5 * (p75 - p25);
  const upperFence = p75 + 1.5 * (p75 - p25);

  const counts = new Array<number>(bins).fill(0);
  const scale = max > min ? bins / (max - min) : 0;
  let outliers = 0;
  const examples: number[] = [];
  for (const v of values) {
    counts[Math.min(bins - 1, Math.floor((v - min) * scale))]!++;
    if (v < lowerFence || v > upperFence) {
      outliers++;
      if (examples.length < 10) examples.push(round6(v));
    }
  }
  return {
    min: round6(min),
    max: round6(max),
    mean: round6(mean),
    stddev: n > 1 ? round6(Math.sqrt(squares / (n - 1))) : null,
    sum: round6(sum),
    quantiles: { p05: round6(q(0.05)), p25: round6(p25), p50: round6(q(0.5)), p75: round6(p75), p95: round6(q(0.95)) },
    histogram: { bins, min: round6(min), max: round6(max), counts },
    outliers: { count: outliers, lowerFence: round6(lowerFence), upperFence: round6(upperFence), examples },
  };
}

/**
 * Pearson's r over the rows where both are present (`a`, `b`: one value per row, NaN for null); null when fewer
 * than two such rows or either is constant over them.
 */
export function pearson(a: Float64Array, b: Float64Array, rows: number): number | null {
  let n = 0;
  let sumA = 0;
  let sumB = 0;
  // Constancy by comparison, not by a zero variance that rounding in the mean can miss.
  let firstA = NaN;
  let firstB = NaN;
  let variesA = false;
  let variesB = false;
  for (let i = 0; i < rows; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) || Number.isNaN(y)) continue;
    if (n++ === 0) {
      firstA = x;
      firstB = y;
    }
    if (x !== firstA) variesA = true;
    if (y !== firstB) variesB = true;
    sumA += x;
    sumB += y;
  }
  if (!variesA || !variesB) return null;
  const meanA = sumA / n;
  const meanB = sumB / n;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < rows; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) || Number.isNaN(y)) continue;
    sxx += (x - meanA) * (x - meanA);
    syy += (y - meanB) * (y - meanB);
    sxy += (x - meanA) * (y - meanB);
  }
  if (sxx === 0 || syy === 0) return null;
  return round6(Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy))));
}
