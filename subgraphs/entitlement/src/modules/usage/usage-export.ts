// Usage reports as documents: CSV (RFC 4180, one row per bucket, service and user) and JSON.
import type { UsageReport } from './usage.service.ts';

const cell = (value: string | number | null) => {
  const text = value === null ? '' : String(value);
  // Quote what needs it; neutralize spreadsheet formulas (a cell starting with = + - @).
  const safe = /^[=+\-@]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

export function usageCsv(report: UsageReport): string {
  const header = 'bucket,service,user_id,requests,units,refused';
  const lines = report.rows.map((r) =>
    [r.bucket?.toISOString() ?? '', r.service, r.userId, r.requests, r.units, r.refused].map(cell).join(','),
  );
  const total = ['total', '', '', report.totals.requests, report.totals.units, report.totals.refused]
    .map(cell)
    .join(',');
  return `${[header, ...lines, total].join('\r\n')}\r\n`;
}

export function usageJson(report: UsageReport): string {
  return JSON.stringify({
    organizationId: report.organizationId,
    from: report.from.toISOString(),
    to: report.to.toISOString(),
    groupBy: report.groupBy,
    rows: report.rows.map((r) => ({ ...r, bucket: r.bucket?.toISOString() ?? null })),
    totals: report.totals,
  });
}
