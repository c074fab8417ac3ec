// Results: ratios against the baseline measured in the same run (absolute numbers are printed but mean little
// on a shared box), a compact table, and the JSON written to bench/results/.
import type { Measurement, Scenario } from './scenario.ts';

export interface ScenarioResult {
  name: string;
  title: string;
  relativeTo: string | null;
  status: 'ok' | 'errors' | 'failed';
  measurement: Measurement | null;
  error: string | null;
  /** This scenario's req/s divided by the baseline's; its p50 divided by the baseline's. */
  vsBaseline: Ratios | null;
  /** The same against `relativeTo`. */
  vsRelative: Ratios | null;
}

export interface Ratios {
  to: string;
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU per request, this / that (1.5x = costs 50 % more CPU per request). */
  cpuPerOp: number;
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : Number.NaN);

function ratios(m: Measurement | null, other: ScenarioResult | undefined): Ratios | null {
  const o = other?.measurement;
  if (!m || !o || !other) return null;
  return {
    to: other.name,
    rps: ratio(m.rps, o.rps),
    p50: ratio(m.p50, o.p50),
    p99: ratio(m.p99, o.p99),
    cpuPerOp: m.cpuMsPerOp !== null && o.cpuMsPerOp !== null ? ratio(m.cpuMsPerOp, o.cpuMsPerOp) : Number.NaN,
  };
}

export function resultOf(
  scenario: Scenario,
  outcome: Measurement | Error,
): Omit<ScenarioResult, 'vsBaseline' | 'vsRelative'> {
  if (outcome instanceof Error) {
    return {
      name: scenario.name,
      title: scenario.title,
      relativeTo: scenario.relativeTo ?? null,
      status: 'failed',
      measurement: null,
      error: outcome.message,
    };
  }
  return {
    name: scenario.name,
    title: scenario.title,
    relativeTo: scenario.relativeTo ?? null,
    status: outcome.errors.total > 0 ? 'errors' : 'ok',
    measurement: outcome,
    error: null,
  };
}

export function withRatios(
  results: Omit<ScenarioResult, 'vsBaseline' | 'vsRelative'>[],
  baselineName: string,
): ScenarioResult[] {
  const full = results.map((r) => ({ ...r, vsBaseline: null, vsRelative: null }) as ScenarioResult);
  const byName = new Map(full.map((r) => [r.name, r]));
  for (const r of full) {
    r.vsBaseline = ratios(r.measurement, byName.get(baselineName));
    if (r.relativeTo) r.vsRelative = ratios(r.measurement, byName.get(r.relativeTo));
  }
  return full;
}

const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const times = (n: number) => {
  if (!Number.isFinite(n)) return '-';
  if (n >= 10) return `${n.toFixed(1)}x`;
  if (n >= 0.1) return `${n.toFixed(2)}x`;
  return `${n.toPrecision(2)}x`;
};

export function formatTable(results: ScenarioResult[]): string {
  const header = [
    'scenario',
    'req/s',
    'p50 ms',
    'p99 ms',
    'cpu ms/req',
    'errors',
    'req/s vs baseline',
    'compared with',
    'req/s',
    'p50',
    'cpu/req',
  ];
  const leftAligned = new Set([0, 7]);
  const rows = results.map((r) => {
    const m = r.measurement;
    const rel = r.vsRelative;
    return [
      r.name,
      m ? fixed(m.rps, 0) : 'FAILED',
      m ? fixed(m.p50, 1) : '-',
      m ? fixed(m.p99, 1) : '-',
      m?.cpuMsPerOp != null ? fixed(m.cpuMsPerOp, m.cpuMsPerOp < 1 ? 3 : 2) : '-',
      m ? String(m.errors.total) : '-',
      r.vsBaseline ? times(r.vsBaseline.rps) : '-',
      rel ? rel.to : '',
      rel ? times(rel.rps) : '',
      rel ? times(rel.p50) : '',
      rel ? times(rel.cpuPerOp) : '',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (leftAligned.has(i) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
