// The plan catalogue, on the entitlement subgraph alone (harness): public, seeded, cheapest first, and
// resolvable as an entity.
import { caller, type Harness, startSubgraphs } from '@g3d/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { seedPlans, service } from '../src/index.ts';

let harness: Harness;
beforeAll(async () => {
  harness = await startSubgraphs({ entitlement: service });
  await seedPlans(harness.db);
});
afterAll(() => harness.close());

describe('plans', () => {
  it('lists the seeded catalogue to anonymous callers, cheapest first', async () => {
    const result = await harness
      .as()
      .gql<{ plans: { id: string; includedServices: string[] }[] }>('{ plans { id includedServices } }');
    expect(result.data?.plans.map((p) => p.id)).toEqual(['free', 'basic', 'professional', 'enterprise', 'custom']);
    expect(result.data?.plans[0]?.includedServices).toEqual(['chat-builder', 'translate-ai']);
  });

  it('resolves a plan by key for the gateway (federation _entities)', async () => {
    const result = await harness
      .as(caller({ userId: '00000000-0000-4000-8000-000000000001' }))
      .gql<{ _entities: { id: string; storageBytes: string | null }[] }>(
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on Plan { id storageBytes } } }',
        {
          r: [
            { __typename: 'Plan', id: 'free' },
            { __typename: 'Plan', id: 'nope' },
          ],
        },
      );
    expect(result.data?._entities).toEqual([{ id: 'free', storageBytes: '1073741824' }, null]);
  });

  it('refuses a request that did not come through the gateway', async () => {
    const response = await fetch(`${harness.urls.entitlement}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ plans { id } }' }),
    });
    expect(response.status).toBe(401);
  });
});
