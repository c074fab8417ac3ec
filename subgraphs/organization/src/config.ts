// Organization's settings besides the common ones (README's configuration table documents each).
import { type CommonConfig, z } from '@g3d/config';

export const organizationConfig = z.object({
  /**
   * Requests that send mail per client IP per hour: inviteMember and resendInvitation here, register,
   * resendVerification and requestPasswordReset in identity — one budget in the shared store. Identity's slice
   * declares the same setting with the same rule (the platform's merged schema keeps one).
   */
  MAIL_IP_LIMIT: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be between 1 and 100000')
    .max(100_000, 'must be between 1 and 100000')
    .default(30),
});

/** Every setting organization reads: the common ones and its slice. */
export type OrganizationConfig = CommonConfig & z.infer<typeof organizationConfig>;
