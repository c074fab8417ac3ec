// Intensity statistics, Otsu's threshold and connected components over a decoded image. Linear time and memory
// in the pixel count; no recursion (a 4096×4096 foreground is one 16 M pixel component).
import { setImmediate as nextTurn } from 'node:timers/promises';

import { checkAborted } from '../../protocol.ts';

export const HISTOGRAM_BINS = 32;
/** Integer-valued images with at most this many levels get an exact per-level histogram (median, Otsu). */
const MAX_LEVELS = 1 << 17;
/** Otsu's bins for images that are not integer-valued or span more levels. */
const OTSU_BINS = 256;
/** Pixels of work between yields to the event loop (so an abort can arrive) and abort checks. */
const WORK_SLICE = 1 << 20;

export function round4(value: number): number {
  const rounded = Math.round(value * 1e4) / 1e4;
  return rounded === 0 ? 0 : rounded;
}

export interface Summary {
  statistics: { min: number; max: number; mean: number; stddev: number; median: number };
  histogram: { bins: number; min: number; max: number; counts: number[] };
  /** Otsu's threshold (unrounded): pixels above it are foreground. */
  otsu: number;
}

export function summarize(pixels: Float32Array): Summary {
  const n = pixels.length;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let integral = true;
  for (let i = 0; i < n; i++) {
    const v = pixels[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    if (integral && !Number.isInteger(v)) integral = false;
  }
  const mean = sum / n;
  let squares = 0;
  const counts = new Array<number>(HISTOGRAM_BINS).fill(0);
  const scale = max > min ? HISTOGRAM_BINS / (max - min) : 0;
  for (let i = 0; i < n; i++) {
    const v = pixels[i]!;
    squares += (v - mean) * (v - mean);
    counts[Math.min(HISTOGRAM_BINS - 1, Math.floor((v - min) * scale))]!++;
  }

  const levels = integral && max - min < MAX_LEVELS ? levelCounts(pixels, min, max) : null;
  const median = levels ? levelMedian(levels, min, n) : sortedMedian(pixels);
  const otsu = levels
    ? otsuThreshold(levels, min, 1, true)
    : otsuThreshold(binCounts(pixels, min, max), min, (max - min) / OTSU_BINS, false);

  return {
    statistics: {
      min: round4(min),
      max: round4(max),
      mean: round4(mean),
      stddev: round4(Math.sqrt(squares / n)),
      median: round4(median),
    },
    histogram: { bins: HISTOGRAM_BINS, min: round4(min), max: round4(max), counts },
    otsu: max > min ? otsu : max,
  };
}

function levelCounts(pixels: Float32Array, min: number, max: number): Uint32Array {
  const counts = new Uint32Array(max - min + 1);
  for (let i = 0; i < pixels.length; i++) counts[pixels[i]! - min]!++;
  return counts;
}

function binCounts(pixels: Float32Array, min: number, max: number): Uint32Array {
  const counts = new Uint32Array(OTSU_BINS);
  const scale = max > min ? OTSU_BINS / (max - min) : 0;
  for (let i = 0; i < pixels.length; i++) counts[Math.min(OTSU_BINS - 1, Math.floor((pixels[i]! - min) * scale))]!++;
  return counts;
}

function levelMedian(counts: Uint32Array, min: number, n: number): number {
  // The values at 0-based ranks ⌊(n-1)/2⌋ and ⌊n/2⌋, averaged.
  const lowRank = Math.floor((n - 1) / 2);
  const highRank = Math.floor(n / 2);
  let low: number | null = null;
  let seen = 0;
  for (let level = 0; level < counts.length; level++) {
    seen += counts[level]!;
    if (low === null && seen > lowRank) low = min + level;
    if (seen > highRank) return ((low ?? min + level) + min + level) / 2;
  }
  return min;
}

function sortedMedian(pixels: Float32Array): number {
  const sorted = Float32Array.from(pixels).sort();
  const n = sorted.length;
  return (sorted[Math.floor((n - 1) / 2)]! + sorted[Math.floor(n / 2)]!) / 2;
}

/**
 * Otsu's method over `counts` (bin k holds values from `min + k·width`): the split maximising the between-class
 * variance. Empty bins make a plateau of equal splits; the threshold is the middle of the plateau's gap, so two
 * flat levels 10 and 200 give 105, not 10.
 */
function otsuThreshold(counts: Uint32Array, min: number, width: number, levels: boolean): number {
  let total = 0;
  let weighted = 0;
  for (let k = 0; k < counts.length; k++) {
    total += counts[k]!;
    weighted += k * counts[k]!;
  }
  let below = 0;
  let belowWeighted = 0;
  let best = -1;
  let first = -1;
  let last = -1;
  for (let k = 0; k < counts.length - 1; k++) {
    below += counts[k]!;
    belowWeighted += k * counts[k]!;
    const above = total - below;
    if (below === 0 || above === 0) continue;
    const diff = (weighted / total) * below - belowWeighted;
    const variance = (diff * diff) / (below * above);
    if (variance > best * (1 + 1e-12)) {
      best = variance;
      first = k;
      last = k;
    } else if (variance >= best * (1 - 1e-12)) {
      last = k;
    }
  }
  if (first < 0) return min + (counts.length - 1) * width;
  // Levels: class 0 ends at level `first`, class 1 starts at level `last + 1`. Bins: the split edges.
  return levels ? min + (first + last + 1) / 2 : min + ((first + last) / 2 + 1) * width;
}

export interface Finding {
  id: number;
  boundingBox: { x: number; y: number; width: number; height: number };
  area: number;
  meanIntensity: number;
  centroid: { x: number; y: number };
}

interface Component {
  /** Raster index of its first pixel: its (y, x) order. */
  start: number;
  area: number;
  sum: number;
  sumX: number;
  sumY: number;
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

/** Ranks first: larger area, then earlier first pixel. */
function before(a: Component, b: Component): boolean {
  return a.area !== b.area ? a.area > b.area : a.start < b.start;
}

/**
 * 4-connected components of pixels above `threshold` with at least `minArea` pixels: the best `maxFindings` of
 * them (kept in a bounded sorted list, so a checkerboard of 8 M specks costs no more memory) and how many there are.
 */
export async function findComponents(
  pixels: Float32Array,
  width: number,
  height: number,
  options: { threshold: number; minArea: number; maxFindings: number },
  signal: AbortSignal,
): Promise<{ findings: Finding[]; findingCount: number }> {
  const { threshold, minArea, maxFindings } = options;
  const n = width * height;
  // 0 background, 1 unvisited foreground, 2 visited.
  const state = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (pixels[i]! > threshold) state[i] = 1;

  let stack = new Int32Array(1024);
  let size = 0;
  const top: Component[] = [];
  let count = 0;
  let work = 0;
  const pause = async (): Promise<void> => {
    work = 0;
    await nextTurn();
    checkAborted(signal);
  };

  for (let start = 0; start < n; start++) {
    if (++work >= WORK_SLICE) await pause();
    if (state[start] !== 1) continue;
    const c: Component = { start, area: 0, sum: 0, sumX: 0, sumY: 0, minX: width, minY: height, maxX: 0, maxY: 0 };
    state[start] = 2;
    stack[size++] = start;
    while (size > 0) {
      if (++work >= WORK_SLICE) await pause();
      const p = stack[--size]!;
      const x = p % width;
      const y = (p - x) / width;
      c.area++;
      c.sum += pixels[p]!;
      c.sumX += x;
      c.sumY += y;
      if (x < c.minX) c.minX = x;
      if (x > c.maxX) c.maxX = x;
      if (y < c.minY) c.minY = y;
      if (y > c.maxY) c.maxY = y;
      // Marked when pushed, so each pixel enters the stack once and it never exceeds n entries.
      if (size + 4 > stack.length) {
        const grown = new Int32Array(Math.min(n + 4, stack.length * 2));
        grown.set(stack.subarray(0, size));
        stack = grown;
      }
      if (x > 0 && state[p - 1] === 1) {
        state[p - 1] = 2;
        stack[size++] = p - 1;
      }
      if (x < width - 1 && state[p + 1] === 1) {
        state[p + 1] = 2;
        stack[size++] = p + 1;
      }
      if (y > 0 && state[p - width] === 1) {
        state[p - width] = 2;
        stack[size++] = p - width;
      }
      if (y < height - 1 && state[p + width] === 1) {
        state[p + width] = 2;
        stack[size++] = p + width;
      }
    }
    if (c.area < minArea) continue;
    count++;
    offer(top, c, maxFindings);
  }

  const findings = top.map((c, index) => ({
    id: index + 1,
    boundingBox: { x: c.minX, y: c.minY, width: c.maxX - c.minX + 1, height: c.maxY - c.minY + 1 },
    area: c.area,
    meanIntensity: round4(c.sum / c.area),
    centroid: { x: round4(c.sumX / c.area), y: round4(c.sumY / c.area) },
  }));
  return { findings, findingCount: count };
}

/** Inserts `c` into the sorted `top` if it ranks among the best `limit`. */
function offer(top: Component[], c: Component, limit: number): void {
  if (top.length >= limit && !before(c, top[top.length - 1]!)) return;
  let low = 0;
  let high = top.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (before(top[mid]!, c)) low = mid + 1;
    else high = mid;
  }
  top.splice(low, 0, c);
  if (top.length > limit) top.pop();
}
