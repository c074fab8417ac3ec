// The AI wrappers' one field through the entitlement decision, end to end through the gateway: the plan decides
// which services answer (FORBIDDEN PLAN_EXCLUDES_SERVICE otherwise), the registry's rate limit holds (videoAi: 50
// per 15 minutes, where 60 calls all used to answer), every invocation lands in the ledger, and the client sees
// what remains and when it resets (response extensions and X-RateLimit-* / X-Quota-* headers).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { gql, login, startTestPlatform, type TestPlatform, usageConsumed } from './helpers.ts';

let platform: TestPlatform;
let token: string;
let organizationId: string;

beforeAll(async () => {
  platform = await startTestPlatform({}, { eventPollIntervalMs: 50 });
  token = await login(platform.gatewayUrl);
  const me = await gql<{ me: { organizations: { id: string }[] } }>(
    platform.gatewayUrl,
    '{ me { organizations { id } } }',
    {
      token,
    },
  );
  organizationId = me.data?.me.organizations[0]?.id as string;
});
afterAll(() => platform.close());

async function call(query: string, headers: Record<string, string> = {}) {
  const response = await fetch(platform.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as {
    data?: Record<string, unknown> | null;
    errors?: { extensions?: Record<string, unknown> }[];
    extensions?: { entitlements?: Record<string, Record<string, { remaining: number | null; limit: number | null }>> };
  };
  return { status: response.status, headers: response.headers, ...body };
}

async function ledger(): Promise<Record<string, number>> {
  await usageConsumed(platform);
  const { rows } = await platform.db!.pool.query<{ key: string; n: number }>(
    `SELECT service || ':' || status AS key, count(*)::int AS n FROM entitlement.usage_records
     WHERE organization_id = $1 GROUP BY 1`,
    [organizationId],
  );
  return Object.fromEntries(rows.map((r) => [r.key, r.n]));
}

describe('AI wrappers through the entitlement decision', () => {
  it('a new organization is on the free plan: chat-builder answers with its limits, video-ai is PLAN_EXCLUDES_SERVICE', async () => {
    const chat = await call('{ chatBuilder { slug } }');
    expect(chat.data).toEqual({ chatBuilder: { slug: 'chat-builder' } });
    expect(chat.extensions?.entitlements?.['chat-builder']?.requests).toMatchObject({ limit: 1000, remaining: 999 });
    expect(chat.extensions?.entitlements?.['chat-builder']?.rateLimit).toMatchObject({ limit: 1500, remaining: 1499 });
    expect(chat.headers.get('x-ratelimit-limit')).toBe('1500');
    expect(chat.headers.get('x-ratelimit-remaining')).toBe('1499');
    expect(Number(chat.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
    expect(chat.headers.get('x-quota-remaining')).toBe('999');

    const video = await call('{ videoAi { slug } }');
    expect(video.errors?.[0]?.extensions).toEqual({
      code: 'FORBIDDEN',
      reason: 'PLAN_EXCLUDES_SERVICE',
      service: 'video-ai',
    });
  });

  it("enforces video-ai's registry limit of 50 per 15 minutes: 60 calls, 50 answered, 10 RATE_LIMITED, 60 ledger rows", async () => {
    const assigned = await gql(
      platform.gatewayUrl,
      `mutation { assignPlan(organizationId: "${organizationId}", planId: "professional") { plan { id } } }`,
      { token },
    );
    expect(assigned.errors).toBeUndefined();
    // The 60 calls must fall in one 15-minute window (windows are aligned to the clock).
    const left = 900_000 - (Date.now() % 900_000);
    if (left < 20_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
    const answers = [];
    for (let i = 0; i < 60; i += 1) answers.push(await call('{ videoAi { slug } }'));
    expect(answers.filter((a) => a.data?.videoAi).length).toBe(50);
    const refused = answers.filter((a) => a.errors);
    expect(refused).toHaveLength(10);
    expect(refused[0]?.errors?.[0]?.extensions).toMatchObject({
      code: 'RATE_LIMITED',
      reason: 'SERVICE_RATE_LIMIT',
      service: 'video-ai',
      remaining: 0,
    });
    expect(refused[0]?.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
    expect(refused[0]?.errors?.[0]?.extensions?.retryAfterSeconds).toBeLessThanOrEqual(900);
    expect(refused[0]?.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(await ledger()).toMatchObject({ 'video-ai:ALLOWED': 50, 'video-ai:RATE_LIMITED': 10 });
  });

  it('a retry with the same Idempotency-Key is counted once', async () => {
    const first = await call('{ translateAi { slug } }', { 'idempotency-key': 'retry-me-1' });
    const again = await call('{ translateAi { slug } }', { 'idempotency-key': 'retry-me-1' });
    expect(again.data).toEqual({ translateAi: { slug: 'translate-ai' } });
    expect(again.headers.get('x-quota-remaining')).toBe(first.headers.get('x-quota-remaining'));
    expect((await ledger())['translate-ai:ALLOWED']).toBe(1);
  });

  it('the organization, its entitlements, usage and the caller’s service access join through the gateway', async () => {
    const result = await gql<{
      organization: {
        subscription: { plan: { id: string }; status: string };
        entitlements: { services: { service: string; requestsUsed: number }[] };
        usage: { totals: { requests: number; refused: number }; export: string };
      };
      me: { serviceAccess: { service: string; allowed: boolean; reason: string | null }[] };
    }>(
      platform.gatewayUrl,
      `query($id: ID!) {
        organization(id: $id) {
          subscription { plan { id } status }
          entitlements { services { service requestsUsed } }
          usage(groupBy: TOTAL) { totals { requests refused } export(format: CSV) }
        }
        me { serviceAccess { service allowed reason } }
      }`,
      { token, variables: { id: organizationId } },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data?.organization.subscription).toEqual({ plan: { id: 'professional' }, status: 'ACTIVE' });
    const used = Object.fromEntries(
      result.data!.organization.entitlements.services.map((s) => [s.service, s.requestsUsed]),
    );
    expect(used).toMatchObject({ 'video-ai': 50, 'chat-builder': 1, 'translate-ai': 1 });
    expect(result.data?.organization.usage.totals).toEqual({ requests: 52, refused: 11 });
    expect(result.data?.organization.usage.export).toContain('\r\ntotal,,,52,0,11\r\n');
    const access = Object.fromEntries(result.data!.me.serviceAccess.map((a) => [a.service, a.reason ?? 'ALLOWED']));
    expect(access).toMatchObject({ 'video-ai': 'RATE_LIMITED', 'code-forge': 'ALLOWED' });
  });
});
