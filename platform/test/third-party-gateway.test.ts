// The gateway runs on any supergraph with platform auth off: here two plain Apollo subgraphs that know
// nothing of the platform (no gateway token, no shield), composed into a temporary supergraph file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { composeServices } from '@apollo/composition';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { createLogger } from '@g3d/kit';
import { loadPlatformConfig, type RunningPlatform, startPlatform } from '@g3d/platform';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { gql } from './helpers.ts';

const products = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Product @key(fields: "upc") { upc: ID! name: String! }
  type Query { topProducts: [Product!]! }
`);
const reviews = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Product @key(fields: "upc") { upc: ID! reviews: [String!]! }
`);

const servers: ApolloServer[] = [];
let gateway: RunningPlatform;

async function serve(typeDefs: ReturnType<typeof parse>, resolvers: object): Promise<string> {
  const server = new ApolloServer({ schema: buildSubgraphSchema({ typeDefs, resolvers: resolvers as never }) });
  servers.push(server);
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return url;
}

beforeAll(async () => {
  const productsUrl = await serve(products, {
    Query: {
      topProducts: () => [
        { upc: '1', name: 'Table' },
        { upc: '2', name: 'Chair' },
      ],
    },
  });
  const reviewsUrl = await serve(reviews, {
    Product: { __resolveReference: (ref: { upc: string }) => ({ upc: ref.upc, reviews: [`great ${ref.upc}`] }) },
  });
  const composed = composeServices([
    { name: 'products', typeDefs: products, url: productsUrl },
    { name: 'reviews', typeDefs: reviews, url: reviewsUrl },
  ]);
  if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-third-party-'));
  const file = path.join(dir, 'supergraph.graphql');
  fs.writeFileSync(file, composed.supergraphSdl);
  const config = await loadPlatformConfig({
    NODE_ENV: 'test',
    DATA_DIR: dir,
    GATEWAY_PORT: '0',
    SUPERGRAPH_PATH: file,
  });
  gateway = await startPlatform(config, {
    logger: createLogger({ level: 'silent' }),
    service: 'gateway',
    authOff: true,
  });
});

afterAll(async () => {
  await gateway?.stop();
  for (const server of servers) await server.stop();
});

describe('gateway on a third-party supergraph (--supergraph, --auth off)', () => {
  it('plans and executes a query across both subgraphs', async () => {
    const result = await gql(gateway.gatewayUrl as string, '{ topProducts { upc name reviews } }');
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      topProducts: [
        { upc: '1', name: 'Table', reviews: ['great 1'] },
        { upc: '2', name: 'Chair', reviews: ['great 2'] },
      ],
    });
  });

  it('has Apollo telemetry (phone-home and cloud metadata probes) switched off', () => {
    // eslint-disable-next-line no-restricted-syntax -- asserting what the gateway set for @apollo/gateway
    expect(process.env.APOLLO_TELEMETRY_DISABLED).toBe('true');
  });
});
