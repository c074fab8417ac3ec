// The caller as it crosses a service boundary (gateway tokens, the API-key verification answer).
import { z } from 'zod';

export const callerSchema = z.object({
  kind: z.enum(['anonymous', 'user', 'apiKey']),
  userId: z.string().nullable(),
  sessionId: z.string().nullable(),
  organizationId: z.string().nullable(),
  roles: z.array(z.string()),
  scopes: z.array(z.string()),
  email: z.string().nullable(),
  mfaSetupRequired: z.boolean(),
  /** The presented API key's id (API-key callers). */
  apiKeyId: z.string().max(64).nullable().optional(),
});
