// Stripe webhooks on the entitlement subgraph: events signed locally with the stripe package (no network),
// verified against STRIPE_WEBHOOK_SECRET, applied once by Stripe's event id. Forged, replayed, stale, oversized
// and unsigned requests change nothing.
import { randomUUID } from 'node:crypto';

import { caller, type Harness, startSubgraphs } from '@g3d/testkit';
import express from 'express';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { seedPlans, service } from '../src/index.ts';
import { stripeWebhookRoute } from '../src/modules/billing/stripe-webhook.ts';

const SECRET = 'whsec_test_0123456789abcdef';
let harness: Harness;
let url: string;

beforeAll(async () => {
  harness = await startSubgraphs({ entitlement: service }, { env: { STRIPE_WEBHOOK_SECRET: SECRET } });
  await seedPlans(harness.db);
  url = `${harness.urls.entitlement}/webhooks/stripe`;
  await harness.db.prisma.plan.update({ where: { id: 'basic' }, data: { stripePriceMonthly: 'price_basic_m' } });
});
afterAll(() => harness.close());

let sequence = 0;
function event(
  type: string,
  object: Record<string, unknown>,
  id = `evt_${(sequence += 1)}_${randomUUID().slice(0, 8)}`,
) {
  return JSON.stringify({ id, object: 'event', type, api_version: '2025-01-01', created: 1, data: { object } });
}

async function post(payload: string, options: { secret?: string; signature?: string; timestamp?: number } = {}) {
  const signature =
    options.signature ??
    Stripe.webhooks.generateTestHeaderString({
      payload,
      secret: options.secret ?? SECRET,
      ...(options.timestamp ? { timestamp: options.timestamp } : {}),
    });
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signature },
    body: payload,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const subscriptionOf = (organizationId: string) =>
  harness
    .as(caller({ userId: randomUUID(), roles: ['super_admin'] }))
    .gql<{ _entities: { subscription: Record<string, unknown> }[] }>(
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Organization { subscription { plan { id } status stripeCustomerId stripeSubscriptionId cancelAtPeriodEnd } } } }',
      { r: [{ __typename: 'Organization', id: organizationId }] },
    )
    .then((r) => r.data?._entities[0]?.subscription);

describe('POST /webhooks/stripe', () => {
  it('links a checkout to the organization, then follows its Stripe subscription (plan by price, status)', async () => {
    const org = randomUUID();
    const checkout = await post(
      event('checkout.session.completed', {
        object: 'checkout.session',
        client_reference_id: org,
        customer: 'cus_A',
        subscription: 'sub_A',
      }),
    );
    expect(checkout).toEqual({ status: 200, body: { received: true, outcome: 'applied' } });
    expect(await subscriptionOf(org)).toMatchObject({ stripeCustomerId: 'cus_A', stripeSubscriptionId: 'sub_A' });

    // No metadata: found by its Stripe ids.
    await post(
      event('customer.subscription.updated', {
        object: 'subscription',
        id: 'sub_A',
        customer: 'cus_A',
        status: 'active',
        cancel_at_period_end: true,
        items: { data: [{ price: { id: 'price_basic_m' } }] },
      }),
    );
    expect(await subscriptionOf(org)).toMatchObject({
      plan: { id: 'basic' },
      status: 'ACTIVE',
      cancelAtPeriodEnd: true,
    });

    await post(event('invoice.payment_failed', { object: 'invoice', customer: 'cus_A', subscription: 'sub_A' }));
    expect(await subscriptionOf(org)).toMatchObject({ status: 'PAST_DUE' });

    await post(event('customer.subscription.deleted', { object: 'subscription', id: 'sub_A', customer: 'cus_A' }));
    expect(await subscriptionOf(org)).toMatchObject({
      plan: { id: 'free' },
      status: 'ACTIVE',
      stripeSubscriptionId: null,
    });
  });

  it('applies an event once: a replay (same event id) changes nothing', async () => {
    const org = randomUUID();
    const payload = event('customer.subscription.updated', {
      object: 'subscription',
      id: 'sub_B',
      customer: 'cus_B',
      status: 'unpaid',
      metadata: { organizationId: org },
    });
    expect((await post(payload)).body.outcome).toBe('applied');
    expect(await subscriptionOf(org)).toMatchObject({ status: 'INACTIVE' });
    // Meanwhile a platform administrator reactivates it; the replayed event must not undo that.
    await harness
      .as(caller({ userId: randomUUID(), roles: ['super_admin'] }))
      .gql(`mutation { assignPlan(organizationId: "${org}", planId: "basic") { status } }`);
    const replays = await Promise.all(Array.from({ length: 5 }, () => post(payload)));
    expect(replays.map((r) => r.body.outcome)).toEqual(Array(5).fill('duplicate'));
    expect(await subscriptionOf(org)).toMatchObject({ status: 'ACTIVE', plan: { id: 'basic' } });
    const { rows } = await harness.db.pool.query('SELECT 1 FROM entitlement.stripe_events WHERE id = $1', [
      JSON.parse(payload).id,
    ]);
    expect(rows).toHaveLength(1);
  });

  it('refuses a forged signature, another secret, a stale timestamp and a missing header (400), applying nothing', async () => {
    const org = randomUUID();
    const payload = event('customer.subscription.updated', {
      object: 'subscription',
      id: 'sub_C',
      status: 'past_due',
      metadata: { organizationId: org },
    });
    expect((await post(payload, { secret: 'whsec_attacker_000000000' })).status).toBe(400);
    expect((await post(payload, { signature: 't=1,v1=deadbeef' })).status).toBe(400);
    expect((await post(payload, { timestamp: Math.floor(Date.now() / 1000) - 3600 })).status).toBe(400);
    const tampered = await post(payload.replace('past_due', 'active'), {
      signature: Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET }),
    });
    expect(tampered.status).toBe(400);
    const unsigned = await fetch(url, {
      method: 'POST',
      body: payload,
      headers: { 'content-type': 'application/json' },
    });
    expect(unsigned.status).toBe(400);
    const huge = await fetch(url, {
      method: 'POST',
      body: 'x'.repeat(2_000_000),
      headers: { 'stripe-signature': 't=1,v1=0' },
    });
    expect(huge.status).toBe(413);
    expect(
      (await harness.db.pool.query('SELECT 1 FROM entitlement.stripe_events WHERE id = $1', [JSON.parse(payload).id]))
        .rowCount,
    ).toBe(0);
  });

  it('ignores (200) events about no organization it knows and types it does not handle', async () => {
    expect(
      (
        await post(
          event('customer.subscription.updated', { object: 'subscription', id: 'sub_unknown', status: 'active' }),
        )
      ).body,
    ).toEqual({
      received: true,
      outcome: 'ignored',
    });
    expect((await post(event('charge.refunded', { object: 'charge', id: 'ch_1' }))).body.outcome).toBe('ignored');
    expect(
      (
        await post(
          event('customer.subscription.updated', {
            object: 'subscription',
            metadata: { organizationId: 'not-a-uuid' },
          }),
        )
      ).body.outcome,
    ).toBe('ignored');
  });

  it('answers 503 when no webhook secret is configured', async () => {
    const app = express();
    const router = express.Router();
    stripeWebhookRoute({ secret: undefined, billing: null as never, logger: null as never })(router);
    app.use(router);
    const server = app.listen(0);
    try {
      const port = (server.address() as { port: number }).port;
      const response = await fetch(`http://127.0.0.1:${port}/webhooks/stripe`, { method: 'POST', body: '{}' });
      expect(response.status).toBe(503);
    } finally {
      server.close();
    }
  });
});
