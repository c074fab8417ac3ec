// Consuming: each service claims its own deliveries with FOR UPDATE SKIP LOCKED, one per transaction, runs
// the handler inside that transaction and marks the delivery done before it commits. Database effects of a
// handler therefore happen exactly once; a process killed mid-way rolls back and the delivery is claimed again
// (by it after a restart, or by another replica at once). Failures are retried with backoff; after the last
// attempt the delivery is kept as a dead letter (status `dead`, its error) and logged.
import type { EventContract } from '@g3d/contracts';
import { type Database, Prisma, type Tx } from '@g3d/db';
import type { z } from 'zod';

export interface EventContext {
  /** The claiming transaction: write the handler's changes with it. */
  tx: Tx;
  eventId: string;
  topic: string;
  /** 1 for the first delivery, 2 for the first retry, … */
  attempt: number;
  createdAt: Date;
}

export interface EventHandler {
  contract: EventContract;
  handle(payload: unknown, context: EventContext): Promise<void>;
}

/** A typed handler for one event contract. */
export function onEvent<P extends z.ZodType>(
  contract: EventContract<P>,
  handle: (payload: z.output<P>, context: EventContext) => Promise<void>,
): EventHandler {
  return { contract, handle: (payload, context) => handle(payload as z.output<P>, context) };
}

interface Logger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface EventConsumerOptions {
  db: Database;
  /** The consuming service (its deliveries). */
  consumer: string;
  handlers: readonly EventHandler[];
  logger: Logger;
  /** How often to look for new deliveries. Default 500 ms. */
  pollIntervalMs?: number;
  /** Attempts before a delivery becomes a dead letter. Default 8. */
  maxAttempts?: number;
  /** Longest a handler may hold its transaction. Default 30 s. */
  handlerTimeoutMs?: number;
}

interface ClaimedDelivery {
  event_id: string;
  topic: string;
  payload: unknown;
  attempts: number;
  created_at: Date;
}

/** Backoff before retry n (1-based): 1 s, 2 s, 4 s … capped at 5 min. */
export const retryDelayMs = (attempt: number) => Math.min(1000 * 2 ** (attempt - 1), 300_000);

export class EventConsumer {
  private readonly handlers: Map<string, EventHandler>;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = true;

  constructor(private readonly options: EventConsumerOptions) {
    this.handlers = new Map(options.handlers.map((h) => [h.contract.topic, h]));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.drain()
        .catch((error: unknown) => this.options.logger.error({ err: error }, 'event consumer failed to poll'))
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.timer = setTimeout(tick, this.options.pollIntervalMs ?? 500).unref();
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Handles ready deliveries until none is left (or the consumer stops); returns how many were handled. */
  async drain(limit = 1000): Promise<number> {
    let handled = 0;
    while (handled < limit && (await this.handleOne())) handled += 1;
    return handled;
  }

  /** Claims and handles one ready delivery; false when there is none. */
  async handleOne(): Promise<boolean> {
    const { db, consumer } = this.options;
    let claimed: ClaimedDelivery | undefined;
    try {
      await db.prisma.$transaction(
        async (tx) => {
          const rows = await tx.$queryRaw<ClaimedDelivery[]>(Prisma.sql`
            SELECT d."event_id", e."topic", e."payload", d."attempts", e."created_at"
            FROM "events"."event_deliveries" d
            JOIN "events"."event_log" e ON e."id" = d."event_id"
            WHERE d."consumer" = ${consumer} AND d."status" = 'pending' AND d."next_attempt_at" <= now()
            ORDER BY e."seq"
            LIMIT 1
            FOR UPDATE OF d SKIP LOCKED`);
          claimed = rows[0];
          if (!claimed) return;
          const handler = this.handlers.get(claimed.topic);
          if (!handler) throw new PoisonEvent(`${consumer} has no handler for ${claimed.topic}`);
          const parsed = handler.contract.payload.safeParse(claimed.payload);
          if (!parsed.success)
            throw new PoisonEvent(`payload does not match ${claimed.topic}: ${parsed.error.message}`);
          await handler.handle(parsed.data, {
            tx,
            eventId: claimed.event_id,
            topic: claimed.topic,
            attempt: claimed.attempts + 1,
            createdAt: claimed.created_at,
          });
          await tx.$executeRaw(Prisma.sql`
            UPDATE "events"."event_deliveries"
            SET "status" = 'delivered', "delivered_at" = now(), "attempts" = "attempts" + 1, "last_error" = NULL
            WHERE "consumer" = ${consumer} AND "event_id" = ${claimed.event_id}::uuid`);
        },
        { timeout: this.options.handlerTimeoutMs ?? 30_000, maxWait: 10_000 },
      );
    } catch (error) {
      if (!claimed) throw error;
      await this.recordFailure(claimed, error);
    }
    return claimed !== undefined;
  }

  private async recordFailure(delivery: ClaimedDelivery, error: unknown): Promise<void> {
    const { db, consumer, logger } = this.options;
    const maxAttempts = this.options.maxAttempts ?? 8;
    const attempt = delivery.attempts + 1;
    const dead = error instanceof PoisonEvent || attempt >= maxAttempts;
    const message = (error instanceof Error ? error.message : String(error)).slice(0, 2000);
    const retryAt = new Date(Date.now() + retryDelayMs(attempt));
    await db.prisma.$executeRaw(Prisma.sql`
      UPDATE "events"."event_deliveries"
      SET "attempts" = ${attempt}, "last_error" = ${message}, "next_attempt_at" = ${retryAt},
          "status" = ${dead ? 'dead' : 'pending'}
      WHERE "consumer" = ${consumer} AND "event_id" = ${delivery.event_id}::uuid AND "status" = 'pending'`);
    const fields = { err: error, consumer, topic: delivery.topic, eventId: delivery.event_id, attempt };
    if (dead) logger.error(fields, 'event delivery failed for good: kept as a dead letter');
    else logger.warn({ ...fields, retryAt }, 'event delivery failed; will retry');
  }
}

/** An event that can never be handled (no handler, invalid payload): a dead letter at once. */
class PoisonEvent extends Error {}
