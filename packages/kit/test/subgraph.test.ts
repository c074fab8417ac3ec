// The kit's promises for every subgraph: the gateway door, health, masked unexpected errors with the request
// id (and the original logged), expected errors passed through, and draining in-flight requests on stop.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

import {
  ANONYMOUS,
  GATEWAY_TOKEN_HEADER,
  isPublic,
  loadOrCreateSigningKey,
  publicKeyFromJwk,
  signGatewayToken,
  type SigningKey,
} from '@g3d/auth';
import { badUserInput } from '@g3d/errors';
import { createSubgraph, type SubgraphService } from '@g3d/kit';
import { MemoryStore } from '@g3d/store';
import { parse } from 'graphql';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const typeDefs = parse(`
  type Query {
    ok: String!
    boom: String
    invalid: String
    slow(ms: Int!): String!
  }
`);

const logLines: Record<string, unknown>[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  }),
);

let key: SigningKey;
let service: SubgraphService;
let url: string;

beforeAll(async () => {
  key = await loadOrCreateSigningKey(fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-kit-')), 'gateway');
  service = createSubgraph(
    {
      name: 'fixture',
      modules: [
        {
          name: 'fixture',
          typeDefs,
          rules: { Query: { ok: isPublic, boom: isPublic, invalid: isPublic, slow: isPublic } },
          resolvers: {
            Query: {
              ok: () => 'ok',
              boom: () => {
                throw new Error('database password is hunter2');
              },
              invalid: () => {
                throw badUserInput('nope', 'x');
              },
              slow: (_p: unknown, { ms }: { ms: number }) =>
                new Promise((resolve) => setTimeout(() => resolve('done'), ms)),
            },
          },
        },
      ],
      createContext: (base) => base,
    },
    {
      logger,
      store: new MemoryStore('kit-test:'),
      gatewayKey: await publicKeyFromJwk(key.publicJwk),
      nodeEnv: 'test',
    },
  );
  url = `${(await service.start({ host: '127.0.0.1', port: 0 })).url}/graphql`;
});
afterAll(() => service.stop());

async function call(query: string, requestId = 'req-1') {
  const token = await signGatewayToken(key, 'fixture', { caller: ANONYMOUS, requestId });
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [GATEWAY_TOKEN_HEADER]: token },
    body: JSON.stringify({ query }),
  });
  return {
    status: response.status,
    body: (await response.json()) as {
      data?: unknown;
      errors?: { message: string; extensions: Record<string, unknown> }[];
    },
  };
}

describe('createSubgraph', () => {
  it('answers through the gateway door', async () => {
    expect((await call('{ ok }')).body).toEqual({ data: { ok: 'ok' } });
  });

  it('masks unexpected errors with the request id and logs the original with its stack', async () => {
    const { body } = await call('{ boom }', 'req-boom');
    expect(body.errors?.[0]).toMatchObject({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'req-boom' },
    });
    expect(JSON.stringify(body)).not.toContain('hunter2');
    const logged = logLines.find((l) => l.requestId === 'req-boom' && l.msg === 'unexpected error') as
      { err?: { stack?: string } } | undefined;
    expect(logged?.err?.stack).toContain('hunter2');
  });

  it('passes expected errors through with their code', async () => {
    const { body } = await call('{ invalid }');
    expect(body.errors?.[0]).toMatchObject({ message: 'nope', extensions: { code: 'BAD_USER_INPUT', field: 'x' } });
    expect(body.errors?.[0]?.extensions).not.toHaveProperty('stacktrace');
  });

  it('answers malformed JSON with a 400 GraphQL error', async () => {
    const token = await signGatewayToken(key, 'fixture', { caller: ANONYMOUS, requestId: 'x' });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [GATEWAY_TOKEN_HEADER]: token },
      body: '{',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      errors: [{ message: 'Malformed request body', extensions: { code: 'BAD_REQUEST' } }],
    });
  });

  it('reports liveness and readiness (store reachable)', async () => {
    const base = new URL(url);
    expect(await (await fetch(new URL('/healthz', base))).json()).toEqual({ status: 'ok', service: 'fixture' });
    expect(await (await fetch(new URL('/readyz', base))).json()).toEqual({
      status: 'ok',
      service: 'fixture',
      checks: { store: 'ok' },
    });
  });
});

describe('graceful shutdown', () => {
  it('finishes in-flight requests, then refuses new connections', async () => {
    const own = createSubgraph(
      {
        name: 'drain',
        modules: [
          {
            name: 'drain',
            typeDefs,
            rules: { Query: { '*': isPublic } },
            resolvers: {
              Query: {
                ok: () => 'ok',
                slow: (_p: unknown, { ms }: { ms: number }) => new Promise((r) => setTimeout(() => r('done'), ms)),
              },
            },
          },
        ],
        createContext: (base) => base,
      },
      { logger, store: new MemoryStore('drain:'), gatewayKey: await publicKeyFromJwk(key.publicJwk), nodeEnv: 'test' },
    );
    const base = (await own.start({ host: '127.0.0.1', port: 0 })).url;
    const token = await signGatewayToken(key, 'drain', { caller: ANONYMOUS, requestId: 'drain' });
    const inFlight = fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [GATEWAY_TOKEN_HEADER]: token },
      body: JSON.stringify({ query: '{ slow(ms: 500) }' }),
    }).then((r) => r.json());
    await new Promise((r) => setTimeout(r, 100));
    const stopped = own.stop();
    expect(await inFlight).toEqual({ data: { slow: 'done' } });
    await stopped;
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
