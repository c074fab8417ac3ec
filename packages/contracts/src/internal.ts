// Service-to-service routes (POST /internal/<path>), each declared once for the route and its client.
import { z } from 'zod';

import { callerSchema } from './caller.ts';
import { defineContract, uuid } from './define.ts';

export const MAX_MEMBERSHIP_LOOKUP = 1000;

/**
 * Identity asks organization which organizations users belong to, with which roles and MFA policy: when it
 * issues tokens, and when an organization administrator reads members' private fields.
 */
export const membershipsContract = defineContract({
  service: 'organization',
  path: '/memberships',
  callers: ['identity'],
  request: z.object({ userIds: z.array(uuid()).max(MAX_MEMBERSHIP_LOOKUP) }),
  response: z.object({
    memberships: z.array(
      z.object({
        userId: z.string(),
        organizationId: z.string(),
        roles: z.array(z.string()),
        enforceMfa: z.boolean(),
      }),
    ),
  }),
});

/** The gateway asks identity which caller an API key stands for. */
export const apiKeyVerificationContract = defineContract({
  service: 'identity',
  path: '/api-keys/verify',
  callers: ['gateway'],
  request: z.object({ key: z.string().max(256) }),
  response: z.discriminatedUnion('valid', [
    z.object({ valid: z.literal(false) }),
    z.object({ valid: z.literal(true), apiKeyId: z.string(), caller: callerSchema }),
  ]),
});
