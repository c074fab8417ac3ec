// The raw HTTP ceiling of this machine: a plain node:http server (in the bench process, like the platform)
// that reads the request and answers a fixed ~2 KB JSON. Every other scenario is printed relative to it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Scenario } from '../scenario.ts';
import { measureHttp } from './http.ts';

const FIXED_BODY = JSON.stringify({
  data: {
    items: Array.from({ length: 24 }, (_, i) => ({
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      name: `item ${i}`,
      tags: ['bench', 'fixed'],
    })),
  },
});

async function startFixedServer(): Promise<{ url: string; close(): Promise<void> }> {
  const body = Buffer.from(FIXED_BODY);
  const server = http.createServer((req, res) => {
    // Read the request like a real server would, then answer the same bytes.
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The baseline; run again under another name (`relativeTo: 'baseline'`) to see how much the box drifted. */
export const plainHttp = (name: string, title: string, relativeTo?: string): Scenario => ({
  name,
  title,
  ...(relativeTo ? { relativeTo } : {}),
  needsPlatform: false,
  async run(ctx) {
    const server = await startFixedServer();
    ctx.onClose(() => server.close());
    return measureHttp(ctx, {
      url: server.url,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ me { id email } }' }),
      kind: 'exact',
      validate(status, text) {
        if (status !== 200 || text !== FIXED_BODY) throw new Error(`baseline server answered HTTP ${status}`);
      },
    });
  },
});

export const baseline = plainHttp('baseline', 'plain node:http, fixed 2 KB JSON');
export const baselineAgain = plainHttp('baseline-again', 'baseline again, at the end (drift)', 'baseline');
