// Usage reports from the ledger: per organization (per service, per day / period / in total, optionally per
// user) and a member's own, with totals; exported as CSV or JSON. Input is checked before any query.
import { badUserInput } from '@g3d/errors';
import { isUuid } from '@g3d/kit';
import { AI_SERVICES } from '@g3d/manifest';

import type { SubscriptionsService } from '../subscriptions/subscriptions.service.ts';
import { type UsageGrouping, type UsageRepository, type UsageRow } from './usage.repository.ts';

/** Longest range one report covers. */
export const MAX_REPORT_DAYS = 400;

export interface UsageReportArgs {
  from?: Date | null;
  to?: Date | null;
  groupBy?: UsageGrouping | null;
  service?: string | null;
  userId?: string | null;
  byUser?: boolean | null;
}

export interface UsageTotals {
  requests: number;
  units: number;
  refused: number;
  byService: { service: string; requests: number; units: number; refused: number }[];
}

export interface UsageReport {
  organizationId: string;
  from: Date;
  to: Date;
  groupBy: UsageGrouping;
  rows: UsageRow[];
  totals: UsageTotals;
}

const SLUGS = new Set<string>(AI_SERVICES.map((s) => s.slug));

export class UsageService {
  constructor(
    private readonly usage: UsageRepository,
    private readonly subscriptions: SubscriptionsService,
    private readonly now: () => number,
  ) {}

  async report(organizationId: string, args: UsageReportArgs): Promise<UsageReport> {
    if (args.service != null && !SLUGS.has(args.service)) throw badUserInput('Unknown AI service', 'service');
    if (args.userId != null && !isUuid(args.userId)) throw badUserInput('Invalid user id', 'userId');
    const validDate = (d: Date | null | undefined, field: string) => {
      if (d != null && Number.isNaN(d.getTime())) throw badUserInput(`Invalid ${field}`, field);
      return d ?? null;
    };
    const to = validDate(args.to, 'to') ?? new Date(this.now() + 1);
    const from = validDate(args.from, 'from') ?? (await this.subscriptions.current(organizationId)).currentPeriodStart;
    if (from >= to) throw badUserInput('from must be before to', 'from');
    if (to.getTime() - from.getTime() > MAX_REPORT_DAYS * 86_400_000)
      throw badUserInput(`A report covers at most ${MAX_REPORT_DAYS} days`, 'from');
    const groupBy = args.groupBy ?? 'DAY';
    const rows = await this.usage.report({
      organizationId,
      from,
      to,
      groupBy,
      service: args.service ?? null,
      userId: args.userId ?? null,
      byUser: args.byUser ?? false,
    });
    return { organizationId, from, to, groupBy, rows, totals: totalsOf(rows) };
  }
}

function totalsOf(rows: UsageRow[]): UsageTotals {
  const byService = new Map<string, { service: string; requests: number; units: number; refused: number }>();
  for (const row of rows) {
    const total = byService.get(row.service) ?? { service: row.service, requests: 0, units: 0, refused: 0 };
    total.requests += row.requests;
    total.units += row.units;
    total.refused += row.refused;
    byService.set(row.service, total);
  }
  const services = [...byService.values()].sort((a, b) => a.service.localeCompare(b.service));
  return {
    requests: services.reduce((n, s) => n + s.requests, 0),
    units: services.reduce((n, s) => n + s.units, 0),
    refused: services.reduce((n, s) => n + s.refused, 0),
    byService: services,
  };
}
