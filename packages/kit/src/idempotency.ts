// Mutations that create things accept an idempotency key (the client's `Idempotency-Key` header, forwarded by the
// gateway): a client that lost the answer (a network error, a timeout) retries with the same key and gets the
// original result, not a second write or a "slug taken". The key is recorded in the same transaction as the
// creation (platform.idempotency_keys), so "answered" and "recorded" cannot drift apart; a concurrent retry
// waits for the first on the key's row and then reads its result.
import { createHash } from 'node:crypto';

import { Prisma, type PrismaClient, type Tx } from '@g3d/db';
import { badUserInput } from '@g3d/errors';

/** Client-chosen keys: 1–128 characters of a safe alphabet (a UUID, a ULID, …). */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/;

export class Idempotency {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly service: string,
  ) {}

  /**
   * Runs `create` once per (principal, key, operation). Without a key it simply runs. With one: the first request
   * records the key with its result's id in `create`'s transaction; a retry (also one racing the first) returns
   * `load(id)` of that result. The same key with different arguments is BAD_USER_INPUT.
   */
  async once<T>(options: {
    principal: string;
    key: string | null;
    operation: string;
    args: unknown;
    create: (tx: Tx) => Promise<T>;
    idOf: (result: T) => string;
    load: (id: string) => Promise<T | null>;
  }): Promise<T> {
    const { principal, key, operation } = options;
    if (!key) return this.prisma.$transaction((tx) => options.create(tx));
    const fingerprint = createHash('sha256')
      .update(JSON.stringify(options.args ?? null))
      .digest('hex');
    const identity = { service: this.service, principal, key, operation };
    const created = await this.prisma.$transaction(async (tx) => {
      // Waits on a concurrent first request with this key (the unique index), then does nothing if it committed.
      const inserted = await tx.$executeRaw(Prisma.sql`
        INSERT INTO "platform"."idempotency_keys" ("service", "principal", "key", "operation", "fingerprint")
        VALUES (${this.service}, ${principal}, ${key}, ${operation}, ${fingerprint})
        ON CONFLICT DO NOTHING`);
      if (inserted === 0) return null;
      const result = await options.create(tx);
      await tx.idempotencyKey.update({
        where: { service_principal_key_operation: identity },
        data: { resultId: options.idOf(result) },
      });
      return { result };
    });
    if (created) return created.result;
    const first = await this.prisma.idempotencyKey.findUnique({
      where: { service_principal_key_operation: identity },
    });
    if (!first?.resultId) throw badUserInput('This Idempotency-Key is being used by another request', 'idempotencyKey');
    if (first.fingerprint !== fingerprint)
      throw badUserInput('This Idempotency-Key was used with other arguments', 'idempotencyKey');
    const original = await options.load(first.resultId);
    if (!original) throw badUserInput('What this Idempotency-Key created no longer exists', 'idempotencyKey');
    return original;
  }
}
