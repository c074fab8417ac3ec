// Gateway behaviour by environment: Apollo Sandbox and introspection in development; in production no landing
// page and no introspection unless GATEWAY_INTROSPECTION=true.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { createLogger } from '@g3d/kit';
import { loadPlatformConfig, type RunningPlatform, startPlatform } from '@g3d/platform';
import { afterEach, describe, expect, it } from 'vitest';

import { gql } from './helpers.ts';

// The platform's own supergraph: the gateway plans against it; no subgraph needs to run for these checks.
const running: RunningPlatform[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
});

async function gateway(env: Record<string, string>): Promise<string> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-gw-'));
  const config = await loadPlatformConfig({ DATA_DIR: dataDir, GATEWAY_PORT: '0', ...env });
  const p = await startPlatform(config, {
    logger: createLogger({ level: 'silent' }),
    service: 'gateway',
    authOff: true,
  });
  running.push(p);
  return p.gatewayUrl as string;
}

const INTROSPECTION = '{ __schema { queryType { name } } }';

describe('gateway modes', () => {
  it('development: serves Apollo Sandbox and allows introspection', async () => {
    const url = await gateway({ NODE_ENV: 'development' });
    const page = await fetch(url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/sandbox/i);
    expect((await gql(url, INTROSPECTION)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it('production: no landing page and no introspection', async () => {
    const url = await gateway({ NODE_ENV: 'production' });
    const page = await fetch(url, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/sandbox/i);
    const result = await gql(url, INTROSPECTION);
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('production: no field suggestions ("Did you mean …") that would reveal the schema', async () => {
    const typo = '{ plan { id } }';
    const development = await gql(await gateway({ NODE_ENV: 'development' }), typo);
    expect(development.errors?.[0]?.message).toMatch(/Did you mean/);
    const production = await gql(await gateway({ NODE_ENV: 'production' }), typo);
    expect(production.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(production.errors?.[0]?.message).not.toMatch(/Did you mean|plans/);
  });

  it('a subgraph that cannot answer is SERVICE_UNAVAILABLE naming it, with no internal address', async () => {
    // No subgraph runs behind this gateway: every fetch fails to connect.
    const url = await gateway({ NODE_ENV: 'production', SUBGRAPH_URLS: 'entitlement=http://127.0.0.1:9/graphql' });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ plans { id } }' }),
    });
    const text = await response.text();
    expect(JSON.parse(text).errors[0].extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', service: 'entitlement' });
    expect(text).not.toMatch(/127\.0\.0\.1|:9\b|http:|ECONNREFUSED/);
  });

  it('production with GATEWAY_INTROSPECTION=true: introspection allowed', async () => {
    const url = await gateway({ NODE_ENV: 'production', GATEWAY_INTROSPECTION: 'true' });
    expect((await gql(url, INTROSPECTION)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });
});
