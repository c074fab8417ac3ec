// The walking skeleton end to end: gateway + every subgraph on random ports, a query joined across two
// subgraphs, and the zero-trust door (subgraphs refuse anything that did not come through the gateway).
import { ANONYMOUS, GATEWAY_TOKEN_HEADER, loadOrCreateSigningKey, signGatewayToken } from '@g3d/auth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ADMIN, gql, login, startTestPlatform, type TestPlatform } from './helpers.ts';

let platform: TestPlatform;
beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(() => platform?.close());

const ME_WITH_ORGS = '{ me { id email organizations { id name slug members { roles user { id email } } } } }';

describe('walking skeleton through the gateway', () => {
  it('logs in the seeded admin and joins identity and organization data', async () => {
    const token = await login(platform.gatewayUrl);
    const result = await gql<{
      me: {
        id: string;
        email: string;
        organizations: {
          name: string;
          slug: string;
          members: { roles: string[]; user: { id: string; email: string } }[];
        }[];
      };
    }>(platform.gatewayUrl, ME_WITH_ORGS, { token });
    expect(result.errors).toBeUndefined();
    const me = result.data?.me;
    expect(me?.email).toBe(ADMIN.email);
    expect(me?.organizations).toHaveLength(1);
    expect(me?.organizations[0]).toMatchObject({ name: 'Default Organization', slug: 'default' });
    // members → user → email: organization hands User references back to identity.
    expect(me?.organizations[0]?.members).toEqual([
      { roles: ['owner', 'admin'], user: { id: me?.id, email: ADMIN.email } },
    ]);
  });

  it('answers me = null for anonymous callers and UNAUTHENTICATED for their private fields', async () => {
    const anonymous = await gql(platform.gatewayUrl, '{ me { id } }');
    expect(anonymous.data).toEqual({ me: null });
  });

  it('rejects a wrong password with a uniform UNAUTHENTICATED error', async () => {
    const wrong = await gql(
      platform.gatewayUrl,
      'mutation { login(input: { email: "alice@a.example", password: "nope nope nope" }) { accessToken } }',
    );
    const unknown = await gql(
      platform.gatewayUrl,
      'mutation { login(input: { email: "nobody@a.example", password: "nope nope nope" }) { accessToken } }',
    );
    expect(wrong.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(unknown.errors?.[0]).toEqual(wrong.errors?.[0]);
  });

  it('rejects malformed input with BAD_USER_INPUT, not a 500', async () => {
    const result = await gql(
      platform.gatewayUrl,
      'mutation($e: String!) { login(input: { email: $e, password: "x" }) { accessToken } }',
      {
        variables: { e: `a\u0000b@${'x'.repeat(10_000)}.com` },
      },
    );
    expect(result.status).toBeLessThan(500);
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('refuses bad bearer tokens at the edge', async () => {
    const garbage = await gql(platform.gatewayUrl, '{ me { id } }', { token: 'not-a-jwt' });
    expect(garbage.status).toBe(401);
    expect(garbage.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const token = await login(platform.gatewayUrl);
    const [header, payload] = token.split('.');
    const unsigned = await gql(platform.gatewayUrl, '{ me { id } }', { token: `${header}.${payload}.` });
    expect(unsigned.status).toBe(401);
  });

  it('accepts the Bearer scheme in any case (RFC 9110)', async () => {
    const token = await login(platform.gatewayUrl);
    const result = await gql(platform.gatewayUrl, '{ me { email } }', {
      headers: { authorization: `bearer ${token}` },
    });
    expect(result.data).toEqual({ me: { email: ADMIN.email } });
  });

  it('refuses a revoked session through the shared store', async () => {
    const token = await login(platform.gatewayUrl);
    const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { sid: string };
    await platform.store.set(`revoked:session:${claims.sid}`, '1', { ttlMs: 60_000 });
    const result = await gql(platform.gatewayUrl, '{ me { id } }', { token });
    expect(result.status).toBe(401);
    expect(result.errors?.[0]?.message).toBe('Session revoked');
  });

  it('masks unexpected errors, validation errors keep their code', async () => {
    const invalid = await gql(platform.gatewayUrl, '{ me { nope } }');
    expect(invalid.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const malformed = await fetch(platform.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": ',
    });
    expect(malformed.status).toBe(400);
    expect(
      ((await malformed.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code,
    ).toBe('BAD_REQUEST');
  });

  it('serves health and readiness on the gateway (per-subgraph details to platform administrators)', async () => {
    const base = new URL(platform.gatewayUrl);
    expect((await fetch(new URL('/healthz', base))).status).toBe(200);
    const anonymous = await fetch(new URL('/readyz', base));
    expect([anonymous.status, await anonymous.json()]).toEqual([200, { status: 'ok' }]);
    const admin = await login(platform.gatewayUrl, ADMIN.email, ADMIN.password);
    const ready = await fetch(new URL('/readyz', base), { headers: { authorization: `Bearer ${admin}` } });
    const body = (await ready.json()) as { status: string; subgraphs: Record<string, string> };
    expect(ready.status).toBe(200);
    expect(Object.keys(body.subgraphs)).toHaveLength(20);
    expect(Object.values(body.subgraphs).every((s) => s === 'ok')).toBe(true);
  });
});

describe('zero trust between gateway and subgraphs', () => {
  const identityUrl = () => platform.subgraphUrls.identity as string;

  it('a subgraph reached directly refuses GraphQL but serves health', async () => {
    const direct = await gql(identityUrl(), '{ me { id } }');
    expect(direct.status).toBe(401);
    expect(direct.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await fetch(new URL('/healthz', identityUrl()))).status).toBe(200);
    expect((await fetch(new URL('/readyz', identityUrl()))).status).toBe(200);
  });

  it('refuses a gateway token signed by another key or meant for another subgraph', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const stranger = await loadOrCreateSigningKey(mkdtempSync(`${tmpdir()}/g3d-key-`), 'gateway');
    const forged = await signGatewayToken(stranger, 'identity', { caller: ANONYMOUS, requestId: 'x' });
    const forgedResult = await gql(identityUrl(), '{ me { id } }', { headers: { [GATEWAY_TOKEN_HEADER]: forged } });
    expect(forgedResult.status).toBe(401);

    const realKey = await loadOrCreateSigningKey(platform.dataDir, 'gateway');
    const forOrganization = await signGatewayToken(realKey, 'organization', { caller: ANONYMOUS, requestId: 'x' });
    const wrongAudience = await gql(identityUrl(), '{ me { id } }', {
      headers: { [GATEWAY_TOKEN_HEADER]: forOrganization },
    });
    expect(wrongAudience.status).toBe(401);

    const forIdentity = await signGatewayToken(realKey, 'identity', { caller: ANONYMOUS, requestId: 'x' });
    const accepted = await gql(identityUrl(), '{ me { id } }', { headers: { [GATEWAY_TOKEN_HEADER]: forIdentity } });
    expect(accepted.status).toBe(200);
    expect(accepted.data).toEqual({ me: null });
  });
});
