// The usage ledger (entitlement.usage_records): written once per invocation id from the usage events, summed
// for the store's counters (reconciliation) and for reports.
import type { usageRecordSchema } from '@g3d/contracts';
import { type Db, Prisma, type PrismaClient, type Tx } from '@g3d/db';
import type { LedgerCounters } from '@g3d/entitlement-client';
import type { z } from 'zod';

type Usage = z.output<typeof usageRecordSchema>;

export type UsageGrouping = 'DAY' | 'PERIOD' | 'TOTAL';

export interface UsageFilter {
  organizationId: string;
  from: Date;
  to: Date;
  groupBy: UsageGrouping;
  service?: string | null;
  userId?: string | null;
  /** One row per user as well (else users are summed). */
  byUser?: boolean;
}

export interface UsageRow {
  bucket: Date | null;
  service: string;
  userId: string | null;
  requests: number;
  units: number;
  refused: number;
}

/** Most rows one report returns (a year by day of 16 services is 5,840). */
export const MAX_REPORT_ROWS = 10_000;

/**
 * A PostgreSQL advisory lock (transaction scope) around the ledger's writes: handlers of usage events hold it
 * shared (they never wait for each other); a refill takes it exclusively before it sums, so a batch being
 * written at that moment is committed — and counted — first.
 */
const LEDGER_LOCK = 7_261_904_011;

export class UsageRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Holds the ledger lock shared for the rest of the transaction (usage event handlers). */
  async holdShared(tx: Tx): Promise<void> {
    await tx.$executeRaw(Prisma.sql`SELECT pg_advisory_xact_lock_shared(${LEDGER_LOCK}::bigint)`);
  }

  /** As counters, once every usage batch being written has committed (the lock, exclusively). */
  settledCounters(organizationId: string, periodStart: Date, window: { start: Date; end: Date }) {
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw(Prisma.sql`SELECT pg_advisory_xact_lock(${LEDGER_LOCK}::bigint)`);
      return this.counters(organizationId, periodStart, window, tx);
    });
  }

  /** Writes the invocations' rows, skipping ids already in the ledger; how many were new. */
  async insertMany(tx: Tx, records: readonly Usage[]): Promise<number> {
    const result = await tx.usageRecord.createMany({
      data: records.map((u) => ({
        invocationId: u.invocationId,
        organizationId: u.organizationId,
        userId: u.userId,
        apiKeyId: u.apiKeyId,
        callerKind: u.callerKind,
        service: u.service,
        operation: u.operation,
        units: u.units,
        status: u.status,
        reason: u.reason,
        succeeded: u.succeeded,
        latencyMs: u.latencyMs,
        occurredAt: new Date(u.occurredAt),
        periodStart: u.periodStart ? new Date(u.periodStart) : null,
      })),
      skipDuplicates: true,
    });
    return result.count;
  }

  /** Records that a threshold was reached in a period; true the first time only. */
  async insertThreshold(
    tx: Tx,
    t: {
      organizationId: string;
      service: string;
      metric: string;
      periodStart: Date;
      threshold: number;
      used: number;
      limit: number;
    },
  ): Promise<boolean> {
    const result = await tx.quotaThreshold.createMany({ data: [t], skipDuplicates: true });
    return result.count === 1;
  }

  /**
   * What the ledger counted in the period starting at `periodStart` (allowed invocations: requests and units per
   * service, all together), and per caller and service in the rate window [windowStart, windowEnd).
   */
  async counters(
    organizationId: string,
    periodStart: Date,
    window: { start: Date; end: Date },
    db: Db = this.prisma,
  ): Promise<LedgerCounters> {
    // One after the other: a transaction's client runs one statement at a time.
    const perService = await db.$queryRaw<{ service: string; requests: number; units: bigint }[]>(Prisma.sql`
        SELECT "service", count(*)::int AS requests, coalesce(sum("units"), 0)::bigint AS units
        FROM "entitlement"."usage_records"
        WHERE "organization_id" = ${organizationId}::uuid AND "period_start" = ${periodStart} AND "status" = 'ALLOWED'
        GROUP BY "service"`);
    const perCaller = await db.$queryRaw<{ user_id: string; service: string; count: number }[]>(Prisma.sql`
        SELECT "user_id", "service", count(*)::int AS count
        FROM "entitlement"."usage_records"
        WHERE "organization_id" = ${organizationId}::uuid AND "status" = 'ALLOWED' AND "user_id" IS NOT NULL
          AND "occurred_at" >= ${window.start} AND "occurred_at" < ${window.end}
        GROUP BY "user_id", "service"`);
    const services: LedgerCounters['services'] = {};
    let apiCalls = 0;
    for (const row of perService) {
      services[row.service] = { requests: row.requests, units: Number(row.units) };
      apiCalls += row.requests;
    }
    return {
      services,
      apiCalls,
      rate: perCaller.map((r) => ({ callerId: r.user_id, service: r.service, count: r.count })),
    };
  }

  /** Usage grouped by bucket (day, period, or one total), service and optionally user; refusals counted apart. */
  async report(filter: UsageFilter, db: Db = this.prisma): Promise<UsageRow[]> {
    const bucket =
      filter.groupBy === 'DAY'
        ? Prisma.sql`date_trunc('day', "occurred_at" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`
        : filter.groupBy === 'PERIOD'
          ? Prisma.sql`"period_start"`
          : Prisma.sql`NULL::timestamptz`;
    const user = filter.byUser || filter.userId ? Prisma.sql`"user_id"::text` : Prisma.sql`NULL::text`;
    const rows = await db.$queryRaw<
      {
        bucket: Date | null;
        service: string;
        user_id: string | null;
        requests: number;
        units: bigint;
        refused: number;
      }[]
    >(Prisma.sql`
      SELECT ${bucket} AS bucket, "service", ${user} AS user_id,
        count(*) FILTER (WHERE "status" = 'ALLOWED')::int AS requests,
        coalesce(sum("units") FILTER (WHERE "status" = 'ALLOWED'), 0)::bigint AS units,
        count(*) FILTER (WHERE "status" <> 'ALLOWED')::int AS refused
      FROM "entitlement"."usage_records"
      WHERE "organization_id" = ${filter.organizationId}::uuid
        AND "occurred_at" >= ${filter.from} AND "occurred_at" < ${filter.to}
        ${filter.service ? Prisma.sql`AND "service" = ${filter.service}` : Prisma.empty}
        ${filter.userId ? Prisma.sql`AND "user_id" = ${filter.userId}::uuid` : Prisma.empty}
      GROUP BY 1, 2, 3
      ORDER BY 1 NULLS FIRST, 2, 3 NULLS FIRST
      LIMIT ${MAX_REPORT_ROWS}`);
    return rows.map((r) => ({
      bucket: r.bucket,
      service: r.service,
      userId: r.user_id,
      requests: r.requests,
      units: Number(r.units),
      refused: r.refused,
    }));
  }

  /** Rows in the ledger (tests and operations). */
  count(where: { organizationId?: string } = {}): Promise<number> {
    return this.prisma.usageRecord.count({ where });
  }
}
