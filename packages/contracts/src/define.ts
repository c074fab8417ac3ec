// The shapes services exchange outside GraphQL, declared once with zod and imported by both ends: the
// /internal routes (the route validates the request, the client validates the answer) and the platform
// events (the publisher validates the payload before it is written, the consumer before it is handled).
import type { EventTopic } from '@g3d/manifest';
import { z } from 'zod';

export interface InternalContract<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  /** The service that serves the route. */
  service: string;
  /** Under /internal (e.g. `/memberships` → POST /internal/memberships). */
  path: `/${string}`;
  /** Who may call it: a service name (service token), or `gateway` (gateway token). */
  callers: readonly string[];
  request: Req;
  response: Res;
}

export function defineContract<Req extends z.ZodType, Res extends z.ZodType>(
  contract: InternalContract<Req, Res>,
): InternalContract<Req, Res> {
  return contract;
}

export interface EventContract<P extends z.ZodType = z.ZodType> {
  topic: EventTopic;
  payload: P;
}

export function defineEvent<P extends z.ZodType>(topic: EventTopic, payload: P): EventContract<P> {
  return { topic, payload };
}

export const uuid = () => z.uuid();
