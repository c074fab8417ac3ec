// POST /webhooks/stripe on the entitlement service (not through the gateway: Stripe signs the raw body, and the
// route must read it unparsed). The signature is verified with the stripe package against STRIPE_WEBHOOK_SECRET
// (5 minutes' tolerance: older captures are refused); then the event is applied once by its id.
import { errorBody } from '@g3d/errors';
import type { Logger } from '@g3d/kit';
import express from 'express';
import Stripe from 'stripe';

import type { BillingService } from './billing.service.ts';

export const STRIPE_WEBHOOK_PATH = '/webhooks/stripe';

export function stripeWebhookRoute(options: { secret: string | undefined; billing: BillingService; logger: Logger }) {
  return (router: express.Router) => {
    router.post(STRIPE_WEBHOOK_PATH, express.raw({ type: () => true, limit: '512kb' }), (req, res) => {
      if (!options.secret) {
        res
          .status(503)
          .json(errorBody('SERVICE_UNAVAILABLE', 'Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET)'));
        return;
      }
      const signature = req.header('stripe-signature');
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (!signature || signature.length > 2048 || body.length === 0) {
        res.status(400).json(errorBody('BAD_REQUEST', 'A signed Stripe event is required'));
        return;
      }
      let event: Stripe.Event;
      try {
        event = Stripe.webhooks.constructEvent(body, signature, options.secret);
      } catch {
        options.logger.warn({ route: STRIPE_WEBHOOK_PATH }, 'stripe webhook refused: invalid signature');
        res.status(400).json(errorBody('BAD_REQUEST', 'Invalid Stripe signature'));
        return;
      }
      options.billing.handle(event).then(
        (outcome) => res.json({ received: true, outcome }),
        (error: unknown) => {
          // Stripe retries a failed delivery: nothing was recorded, so the retry applies it.
          options.logger.error({ err: error, stripeEvent: event.id }, 'stripe webhook failed');
          res.status(500).json(errorBody('INTERNAL_SERVER_ERROR', 'Internal server error'));
        },
      );
    });
  };
}
