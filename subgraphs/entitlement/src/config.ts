// Entitlement's settings besides the common ones (README's configuration table documents each).
import { type CommonConfig, z } from '@g3d/config';

export const entitlementConfig = z.object({
  /**
   * The signing secret of the Stripe webhook endpoint (`whsec_…`): POST /webhooks/stripe verifies every event with
   * it. Unset: the endpoint answers 503 and nothing from Stripe is applied.
   */
  STRIPE_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_\S{8,}$/, 'must be a Stripe webhook signing secret (whsec_…)')
    .optional(),
});

/** Every setting entitlement reads: the common ones and its slice. */
export type EntitlementConfig = CommonConfig & z.infer<typeof entitlementConfig>;
