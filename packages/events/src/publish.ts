// Publishing: the event and one delivery per consuming service are written with the caller's transaction, so
// the event exists exactly when the change it announces was committed (a transactional outbox; ADR 0006).
import type { EventContract } from '@g3d/contracts';
import { Prisma, type Tx } from '@g3d/db';
import { consumersOf, findService } from '@g3d/manifest';
import type { z } from 'zod';

/**
 * Writes `payload` as an event of `contract`'s topic, from `producer`, inside `tx`. Throws when the payload
 * does not match the contract or the producer does not declare the topic in the manifest (a programming error).
 */
export async function publishEvent<P extends z.ZodType>(
  tx: Tx,
  producer: string,
  contract: EventContract<P>,
  payload: z.input<P>,
): Promise<string> {
  if (!findService(producer)?.publishes.includes(contract.topic)) {
    throw new Error(`${producer} does not declare that it publishes ${contract.topic} (packages/manifest)`);
  }
  const parsed = contract.payload.parse(payload) as Prisma.InputJsonValue;
  const consumers = consumersOf(contract.topic);
  const event = await tx.platformEvent.create({
    data: {
      topic: contract.topic,
      producer,
      payload: parsed,
      deliveries: { create: consumers.map((consumer) => ({ consumer })) },
    },
    select: { id: true },
  });
  return event.id;
}

/** A publisher bound to one producing service. */
export interface EventPublisher {
  publish<P extends z.ZodType>(tx: Tx, contract: EventContract<P>, payload: z.input<P>): Promise<string>;
}

export function eventPublisher(producer: string): EventPublisher {
  return { publish: (tx, contract, payload) => publishEvent(tx, producer, contract, payload) };
}
