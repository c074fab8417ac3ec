// Usage metering: every invocation's record goes to the platform event log (entitlement.usage-recorded) and is
// committed before the invocation is answered, so an answered invocation is never lost, even when the process
// is killed right after answering. Entitlement consumes the events into its ledger, once per invocation id.
//
// Records arriving together share one event and one transaction (group commit): under load a burst of
// invocations costs a few transactions and a few deliveries, not one each, and every caller still waits for the
// commit that holds its record.
import { MAX_USAGE_BATCH, usageRecorded, usageRecordSchema } from '@g3d/contracts';
import type { Database } from '@g3d/db';
import { publishEvent } from '@g3d/events';
import type { z } from 'zod';

export type UsageRecord = z.input<typeof usageRecordSchema>;

interface Waiting {
  record: z.output<typeof usageRecordSchema>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface UsageMeterOptions {
  db: Database;
  /** Most records in one event (default and at most MAX_USAGE_BATCH). */
  maxBatch?: number;
}

export class UsageMeter {
  private readonly queue: Waiting[] = [];
  private flushing: Promise<void> | null = null;

  constructor(private readonly options: UsageMeterOptions) {}

  /** Resolves once the record is committed to the event log. Rejects when it breaks the contract. */
  async record(record: UsageRecord): Promise<void> {
    // Validated here so that one bad record cannot fail the batch it would share.
    const parsed = usageRecordSchema.parse(record);
    await new Promise<void>((resolve, reject) => {
      this.queue.push({ record: parsed, resolve, reject });
      this.flushing ??= this.flush().finally(() => {
        this.flushing = null;
      });
    });
  }

  /** Waits until every record handed over so far is committed (or failed). */
  async settled(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flush(): Promise<void> {
    const max = Math.min(this.options.maxBatch ?? MAX_USAGE_BATCH, MAX_USAGE_BATCH);
    while (this.queue.length) {
      const batch = this.queue.splice(0, max);
      try {
        await this.options.db.prisma.$transaction(
          (tx) => publishEvent(tx, 'entitlement', usageRecorded, { records: batch.map((item) => item.record) }),
          { timeout: 15_000, maxWait: 10_000 },
        );
        for (const item of batch) item.resolve();
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
  }
}
