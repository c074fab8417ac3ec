// Payloads of the platform events (topics and who consumes them: packages/manifest).
import { z } from 'zod';

import { defineEvent, uuid } from './define.ts';
import { quotaThresholdReached, subscriptionChanged, usageRecorded } from './entitlement.ts';

/** An account was erased (GDPR): other subgraphs drop or anonymize what they hold about the user. */
export const userErased = defineEvent('identity.user-erased', z.object({ userId: uuid() }));

/** A user's membership of an organization began, changed roles or ended (roles: null). */
export const membershipChanged = defineEvent(
  'organization.membership-changed',
  z.object({
    organizationId: uuid(),
    userId: uuid(),
    change: z.enum(['joined', 'roles-changed', 'removed', 'left', 'organization-deleted', 'user-erased']),
    roles: z.array(z.string()).nullable(),
  }),
);

export const EVENTS = [
  userErased,
  membershipChanged,
  usageRecorded,
  quotaThresholdReached,
  subscriptionChanged,
] as const;
