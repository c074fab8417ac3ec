// Typed /internal routes: the contract decides who may call and what a valid body and answer are; the client
// validates the answer; every failure has one shape and a registered code.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ANONYMOUS, GATEWAY_TOKEN_HEADER, loadOrCreateSigningKey, publicKeyFromJwk, signGatewayToken } from '@g3d/auth';
import { defineContract } from '@g3d/contracts';
import { notFound } from '@g3d/errors';
import {
  createInternalClient,
  createLogger,
  createSubgraph,
  InternalCallError,
  internalRoute,
  serviceTokenHeaders,
  type SubgraphService,
} from '@g3d/kit';
import { MemoryStore } from '@g3d/store';
import { parse } from 'graphql';
import { createLocalJWKSet, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

const echo = defineContract({
  service: 'fixture',
  path: '/echo',
  callers: ['caller'],
  request: z.object({ n: z.number().int().max(10) }),
  response: z.object({ twice: z.number() }),
});
const broken = defineContract({ ...echo, path: '/broken' });
const gatewayOnly = defineContract({ ...echo, path: '/gateway-only', callers: ['gateway'] });

const logger = createLogger({ level: 'silent' });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-internal-'));
let service: SubgraphService;
let origin: string;
let headers: () => Promise<Record<string, string>>;
let stranger: () => Promise<Record<string, string>>;
let gatewayHeaders: () => Promise<Record<string, string>>;

beforeAll(async () => {
  const gatewayKey = await loadOrCreateSigningKey(dir, 'gateway');
  const callerKey = await loadOrCreateSigningKey(dir, 'caller');
  const strangerKey = await loadOrCreateSigningKey(dir, 'stranger');
  const jwks = (jwk: JWK) => createLocalJWKSet({ keys: [jwk] });
  service = createSubgraph(
    {
      name: 'fixture',
      modules: [{ name: 'q', typeDefs: parse('type Query { ok: String }'), rules: {} }],
      createContext: (base) => base,
      internalRoutes: [
        internalRoute(echo, async ({ n }) => {
          if (n < 0) throw notFound('No such number');
          return { twice: n * 2 };
        }),
        // Answers a shape the contract does not allow: the client refuses it.
        internalRoute(broken, async () => ({ twice: 'two' }) as never),
        internalRoute(gatewayOnly, async ({ n }) => ({ twice: n })),
      ],
    },
    {
      logger,
      store: new MemoryStore('internal:'),
      gatewayKey: await publicKeyFromJwk(gatewayKey.publicJwk),
      trustedServices: { caller: jwks(callerKey.publicJwk), stranger: jwks(strangerKey.publicJwk) },
      nodeEnv: 'test',
    },
  );
  origin = (await service.start({ host: '127.0.0.1', port: 0 })).url;
  headers = serviceTokenHeaders('caller', callerKey, 'fixture');
  stranger = serviceTokenHeaders('stranger', strangerKey, 'fixture');
  gatewayHeaders = async () => ({
    [GATEWAY_TOKEN_HEADER]: await signGatewayToken(gatewayKey, 'fixture', { caller: ANONYMOUS, requestId: 'g' }),
  });
});
afterAll(() => service.stop());

const client = (h: () => Promise<Record<string, string>>) =>
  createInternalClient({ self: 'caller', target: 'fixture', url: origin, headers: h, logger });

describe('internal routes', () => {
  it('serves a listed caller with a validated, typed answer', async () => {
    await expect(client(headers).call(echo, { n: 4 })).resolves.toEqual({ twice: 8 });
  });

  it('refuses a trusted service the contract does not list (403 FORBIDDEN)', async () => {
    const error = await client(stranger)
      .call(echo, { n: 1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalCallError);
    expect(error).toMatchObject({ code: 'FORBIDDEN', status: 403 });
  });

  it('takes gateway tokens only where the contract lists the gateway', async () => {
    await expect(client(gatewayHeaders).call(gatewayOnly, { n: 3 })).resolves.toEqual({ twice: 3 });
    await expect(client(gatewayHeaders).call(echo, { n: 3 })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('refuses a call without credentials (401) and an invalid body (400 BAD_REQUEST)', async () => {
    await expect(client(async () => ({})).call(echo, { n: 1 })).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      status: 401,
    });
    const response = await fetch(`${origin}/internal/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await headers()) },
      body: JSON.stringify({ n: 'x' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
  });

  it("passes the route's expected errors through with their code and status", async () => {
    await expect(client(headers).call(echo, { n: -1 })).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });

  it('refuses an answer that breaks the contract, and an unreachable service, as SERVICE_UNAVAILABLE', async () => {
    await expect(client(headers).call(broken, { n: 1 })).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    const nowhere = createInternalClient({ self: 'c', target: 'x', url: 'http://127.0.0.1:1', headers, logger });
    await expect(nowhere.call(echo, { n: 1 })).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: null });
  });

  it('validates the request on the client before sending it', async () => {
    await expect(client(headers).call(echo, { n: 11 })).rejects.toThrow();
  });
});
