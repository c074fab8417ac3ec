// Subscriptions with a controllable clock, seen through the decision the wrappers take: period rollover (quotas
// start again), trial expiry (back to the free plan), plan changes (an upgrade at once, a downgrade or a
// cancellation at the renewal), suspension, overrides and plan edits reaching organizations at once.
import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { addMonths, periodContaining, renewsAt } from '../src/modules/subscriptions/periods.ts';
import { member, organizationOn, type Runtime, startRuntime } from './support.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2031, 0, 31, 9, 30, 0);
let clock = T0;
let rt: Runtime;

beforeAll(async () => {
  rt = await startRuntime({ now: () => clock });
});
afterAll(() => rt.close());
beforeEach(() => {
  clock = T0;
});

const decide = (organizationId: string, service = 'video-ai', callerId = randomUUID()) =>
  rt.decider.authorize({ organizationId, callerId, service, invocationId: randomUUID() });
const reason = async (organizationId: string, service = 'video-ai') => {
  const d = await decide(organizationId, service);
  return d.allowed ? 'ALLOWED' : d.refusal?.reason;
};
const changes = async (organizationId: string) => {
  const { rows } = await rt.db.pool.query<{ change: string; plan: string }>(
    `SELECT payload->>'change' AS change, payload->>'planId' AS plan FROM events.event_log
     WHERE topic = 'entitlement.subscription-changed' AND payload->>'organizationId' = $1 ORDER BY seq`,
    [organizationId],
  );
  return rows.map((r) => `${r.change}:${r.plan}`);
};

describe('periods', () => {
  it('are monthly slices from the anchor, clamped to short months, renewing yearly on the anniversary', () => {
    const anchor = new Date(T0); // 31 January
    expect(addMonths(anchor, 1).toISOString()).toBe('2031-02-28T09:30:00.000Z');
    expect(addMonths(anchor, 2).toISOString()).toBe('2031-03-31T09:30:00.000Z');
    const p = periodContaining(anchor, new Date(Date.UTC(2031, 2, 15)));
    expect([p.start.toISOString(), p.end.toISOString(), p.index]).toEqual([
      '2031-02-28T09:30:00.000Z',
      '2031-03-31T09:30:00.000Z',
      1,
    ]);
    expect(renewsAt(anchor, 1, 'monthly').toISOString()).toBe('2031-03-31T09:30:00.000Z');
    expect(renewsAt(anchor, 1, 'yearly').toISOString()).toBe('2032-01-31T09:30:00.000Z');
  });
});

describe('with the clock', () => {
  it('period rollover: the quota is used up, then the next period counts from zero', async () => {
    const org = await organizationOn(rt.services, 'professional', { services: { 'video-ai': { requests: 3 } } });
    const caller = randomUUID();
    for (let i = 0; i < 3; i += 1) expect((await decide(org, 'video-ai', caller)).allowed).toBe(true);
    const refused = await decide(org, 'video-ai', caller);
    expect(refused.refusal).toMatchObject({ code: 'QUOTA_EXCEEDED', reason: 'SERVICE_QUOTA' });
    const end = addMonths(new Date(T0), 1).getTime();
    expect(refused.refusal?.retryAfterSeconds).toBe((end - T0) / 1000);

    clock = end + 1_000;
    const next = await decide(org, 'video-ai', caller);
    expect(next.allowed).toBe(true);
    expect(next.limits?.requests.used).toBe(1);
    expect(next.period?.start.toISOString()).toBe('2031-02-28T09:30:00.000Z');
    const sub = await rt.services.subscriptions.current(org);
    expect(sub.currentPeriodStart.toISOString()).toBe('2031-02-28T09:30:00.000Z');
    expect(await changes(org)).toContain('period-renewed:professional');
  });

  it('trial expiry: a trial of a paid plan ends back on the free plan; a second upgrade has no trial', async () => {
    const org = await organizationOn(rt.services, 'free');
    expect(await reason(org, 'code-forge')).toBe('PLAN_EXCLUDES_SERVICE');
    const trial = await rt.services.subscriptions.changePlan(org, 'basic', null);
    expect([trial.planId, trial.status, trial.trialEnd?.getTime()]).toEqual(['basic', 'trialing', T0 + 14 * DAY]);
    expect(await reason(org, 'code-forge')).toBe('ALLOWED');

    clock = T0 + 14 * DAY + 1;
    expect(await reason(org, 'code-forge')).toBe('PLAN_EXCLUDES_SERVICE');
    expect(await reason(org, 'chat-builder')).toBe('ALLOWED');
    const after = await rt.services.subscriptions.current(org);
    expect([after.planId, after.status, after.trialUsed]).toEqual(['free', 'active', true]);
    expect(await changes(org)).toContain('trial-ended:free');

    const again = await rt.services.subscriptions.changePlan(org, 'basic', null);
    expect([again.planId, again.status]).toEqual(['basic', 'active']);
  });

  it('plan change: an upgrade applies at once, a downgrade and a cancellation at the renewal', async () => {
    const org = await organizationOn(rt.services, 'free');
    expect(await reason(org)).toBe('PLAN_EXCLUDES_SERVICE');
    await rt.services.subscriptions.assign(org, { planId: 'basic' }); // no trial: straight to basic
    await rt.services.subscriptions.changePlan(org, 'professional', 'monthly');
    expect(await reason(org)).toBe('ALLOWED'); // video-ai is in professional, at once

    const scheduled = await rt.services.subscriptions.changePlan(org, 'basic', null);
    expect([scheduled.planId, scheduled.pendingPlanId]).toEqual(['professional', 'basic']);
    clock = T0 + 10 * DAY;
    expect(await reason(org)).toBe('ALLOWED'); // still professional until the renewal
    clock = addMonths(new Date(T0), 1).getTime();
    expect(await reason(org)).toBe('PLAN_EXCLUDES_SERVICE'); // basic from the renewal on
    expect(await reason(org, 'code-forge')).toBe('ALLOWED');

    await rt.services.subscriptions.cancel(org);
    clock = addMonths(new Date(T0), 2).getTime();
    expect(await reason(org, 'code-forge')).toBe('PLAN_EXCLUDES_SERVICE');
    expect((await rt.services.subscriptions.current(org)).planId).toBe('free');
    // One event per committed change (the subscription's creation and first assignment are one).
    expect(await changes(org)).toEqual([
      'plan-changed:free',
      'plan-changed:basic',
      'plan-changed:professional',
      'downgrade-scheduled:professional',
      'period-renewed:basic',
      'cancel-scheduled:basic',
      'period-renewed:free',
    ]);
  });

  it('owners cannot buy a plan arranged with sales, nor cancel the free plan', async () => {
    const org = await organizationOn(rt.services, 'free');
    await expect(rt.services.subscriptions.changePlan(org, 'enterprise', null)).rejects.toMatchObject({
      extensions: { code: 'FORBIDDEN', reason: 'PLAN_NOT_SELF_SERVICE' },
    });
    await expect(rt.services.subscriptions.changePlan(org, 'no-such-plan', null)).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', field: 'planId' },
    });
    await expect(rt.services.subscriptions.cancel(org)).rejects.toMatchObject({ extensions: { code: 'CONFLICT' } });
  });

  it('suspension refuses every service at once, and lifting it restores them', async () => {
    const org = await organizationOn(rt.services, 'professional');
    expect(await reason(org)).toBe('ALLOWED');
    await rt.services.subscriptions.setSuspended(org, true, 'abuse report');
    expect(await reason(org)).toBe('SUSPENDED');
    expect(await reason(org, 'chat-builder')).toBe('SUSPENDED');
    await rt.services.subscriptions.setSuspended(org, false, null);
    expect(await reason(org)).toBe('ALLOWED');
  });

  it('overrides grant or withhold a service; a plan edit reaches every organization on it at once', async () => {
    const org = await organizationOn(rt.services, 'free', {
      services: { 'code-forge': { included: true, requests: 2 }, 'translate-ai': { included: false } },
    });
    expect(await reason(org, 'code-forge')).toBe('ALLOWED');
    expect(await reason(org, 'translate-ai')).toBe('PLAN_EXCLUDES_SERVICE');
    expect((await decide(org, 'code-forge')).limits?.requests.limit).toBe(2);

    const other = await organizationOn(rt.services, 'professional');
    const plan = (await rt.services.repos.plans.find('professional'))!;
    await rt.services.plans.upsert({
      id: plan.id,
      name: plan.name,
      includedServices: plan.includedServices.filter((s) => s !== 'video-ai'),
      monthlyRequests: plan.monthlyRequests,
      priceMonthlyCents: plan.priceMonthlyCents,
      priceYearlyCents: plan.priceYearlyCents,
    });
    expect(await reason(other)).toBe('PLAN_EXCLUDES_SERVICE');
    expect(await changes(other)).toContain('plan-edited:professional');
    await rt.services.plans.upsert({ ...plan, storageBytes: String(plan.storageBytes), services: [] });
    expect(await reason(other)).toBe('ALLOWED');
  });

  it('a member sees which services they may invoke now, and why not', async () => {
    const org = await organizationOn(rt.services, 'free', { services: { 'chat-builder': { requests: 1 } } });
    const developer = member(org, ['org:read', 'code:read', 'code:write', 'translate:read']);
    await rt.gate.invoke(developer, { service: 'chat-builder', operation: 'chat' }, async () => 'ok');
    const access = Object.fromEntries(
      (await rt.services.access.serviceAccess(developer)).map((a) => [a.service, a.reason ?? 'ALLOWED']),
    );
    expect(access).toMatchObject({
      'translate-ai': 'ALLOWED',
      'chat-builder': 'MISSING_SCOPE',
      'code-forge': 'PLAN_EXCLUDES_SERVICE',
    });
    const support = member(org, ['org:read', 'chat:read']);
    const forSupport = await rt.services.access.serviceAccess(support);
    expect(forSupport.find((a) => a.service === 'chat-builder')).toMatchObject({
      allowed: false,
      reason: 'QUOTA_EXHAUSTED',
      requestsRemaining: 0,
    });
    const nowhere = await rt.services.access.serviceAccess(member(null as never));
    expect(new Set(nowhere.map((a) => a.reason))).toEqual(new Set(['NO_ORGANIZATION']));
  });
});
