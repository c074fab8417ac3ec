// fetchInputUrl: the SSRF guard on user-supplied input URLs. Name resolution is injected, so `public.test` can
// stand for a public host while a local server answers for it (allow-listed: it resolves to 127.0.0.1).
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { AppError } from '@g3d/errors';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { fetchInputUrl, type FetchInputUrlOptions, type ResolvedAddress } from '../src/upstream/index.ts';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
let server: Server;
let port: number;
let origin: string;
const hits: { path: string; headers: IncomingHttpHeaders }[] = [];

const routes: Record<string, (res: ServerResponse) => void> = {
  '/image': (res) => res.writeHead(200, { 'content-type': 'image/png' }).end(PNG),
  '/relative-redirect': (res) => res.writeHead(302, { location: '/image' }).end(),
  '/to-metadata': (res) => res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
  '/to-loopback': (res) => res.writeHead(307, { location: `http://127.0.0.1:${port}/image` }).end(),
  '/to-ftp': (res) => res.writeHead(301, { location: 'ftp://public.test/file' }).end(),
  '/loop': (res) => res.writeHead(302, { location: '/loop' }).end(),
  '/missing': (res) => res.writeHead(404).end(),
  '/big': (res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' }); // chunked: no Content-Length
    res.write(Buffer.alloc(600));
    res.end(Buffer.alloc(600));
  },
  '/big-declared': (res) => res.writeHead(200, { 'content-length': '1200' }).end(Buffer.alloc(1200)),
  '/slow': (res) => {
    const timer = setTimeout(() => res.end('late'), 2000);
    res.on('close', () => clearTimeout(timer));
  },
};

/** public.test → this machine; internal.test → one public and one private address; anything else → unknown. */
function fakeDns() {
  const asked: string[] = [];
  const lookup = async (hostname: string): Promise<ResolvedAddress[]> => {
    asked.push(hostname);
    if (hostname === 'public.test') return [{ address: '127.0.0.1', family: 4 }];
    if (hostname === 'internal.test') {
      return [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.5', family: 4 },
      ];
    }
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  };
  return { asked, lookup };
}

let dns = fakeDns();
const options = (extra: Partial<FetchInputUrlOptions> = {}): FetchInputUrlOptions => ({
  maxBytes: 1000,
  timeoutMs: 2000,
  allowHosts: ['public.test'],
  lookup: dns.lookup,
  ...extra,
});

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected the fetch to fail');
}

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push({ path: req.url ?? '', headers: req.headers });
    (routes[req.url ?? ''] ?? ((r: ServerResponse) => r.writeHead(404).end()))(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  origin = `http://public.test:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  hits.length = 0;
  dns = fakeDns();
});

describe('fetchInputUrl refusals', () => {
  it.each([
    'http://127.0.0.1/',
    'http://localhost/',
    'http://api.localhost/',
    'http://[::1]/',
    'http://[::]/',
    'http://169.254.169.254/latest/meta-data/',
    'http://10.1.2.3/',
    'http://192.168.0.10/',
    'http://172.16.5.4/',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://[::ffff:127.0.0.1]/',
    'http://[fe80::1]/',
    'http://[fd00::1]/',
    'http://2130706433/', // 127.0.0.1 in decimal
    'http://224.0.0.1/',
  ])('refuses %s without resolving or connecting', async (url) => {
    const error = await rejection(fetchInputUrl(url, options()));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url', reason: 'URL_NOT_ALLOWED' });
    expect(error.message).toMatch(/private or reserved address/);
    expect(dns.asked).toEqual([]);
  });

  it('refuses a host name that resolves to any private address, without naming the addresses', async () => {
    const error = await rejection(fetchInputUrl('https://internal.test/cat.png', options()));
    expect(error.extensions).toMatchObject({ reason: 'URL_NOT_ALLOWED' });
    expect(error.message).toBe("The URL's host resolves to a private or reserved address");
    expect(error.message).not.toMatch(/10\.0\.0\.5|93\.184/);
  });

  it.each([
    ['ftp://public.test/file', /only http and https/i],
    ['file:///etc/passwd', /only http and https/i],
    ['javascript:alert(1)', /only http and https/i],
    ['not a url', /not valid/],
    ['http://user:secret@public.test/', /credentials/],
  ])('refuses %s', async (url, message) => {
    const error = await rejection(fetchInputUrl(url, options()));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url', reason: 'URL_NOT_ALLOWED' });
    expect(error.message).toMatch(message);
  });

  it.each([
    ['/to-metadata', /private or reserved/],
    ['/to-loopback', /private or reserved/], // allowHosts names public.test, not 127.0.0.1
    ['/to-ftp', /only http and https/i],
  ])('vets the target of a redirect (%s)', async (path, message) => {
    const error = await rejection(fetchInputUrl(`${origin}${path}`, options()));
    expect(error.extensions).toMatchObject({ reason: 'URL_NOT_ALLOWED' });
    expect(error.message).toMatch(message);
    expect(hits.map((hit) => hit.path)).toEqual([path]);
  });

  it('follows at most 3 redirects', async () => {
    const error = await rejection(fetchInputUrl(`${origin}/loop`, options()));
    expect(error.extensions).toMatchObject({ reason: 'URL_NOT_ALLOWED' });
    expect(error.message).toBe('The URL redirected more than 3 times');
    expect(hits).toHaveLength(4);
  });
});

describe('fetchInputUrl fetching', () => {
  it('fetches from the vetted address, resolving the host once, with the host name in the Host header', async () => {
    await expect(fetchInputUrl(`${origin}/image`, options())).resolves.toEqual({
      bytes: PNG,
      contentType: 'image/png',
    });
    // public.test exists only in the injected resolver: the connection went to the address it gave.
    expect(dns.asked).toEqual(['public.test']);
    expect(hits[0]?.headers.host).toBe(`public.test:${port}`);
  });

  it('follows a relative redirect on an allowed host', async () => {
    const fetched = await fetchInputUrl(`${origin}/relative-redirect`, options());
    expect(fetched.bytes).toEqual(PNG);
    expect(hits.map((hit) => hit.path)).toEqual(['/relative-redirect', '/image']);
    expect(dns.asked).toEqual(['public.test']);
  });

  it('allows an allow-listed IP literal', async () => {
    const fetched = await fetchInputUrl(`http://127.0.0.1:${port}/image`, options({ allowHosts: ['127.0.0.1'] }));
    expect(fetched.contentType).toBe('image/png');
  });

  it('stops reading at maxBytes', async () => {
    for (const path of ['/big', '/big-declared']) {
      const error = await rejection(fetchInputUrl(`${origin}${path}`, options({ maxBytes: 1000 })));
      expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url' });
      expect(error.message).toBe('The content at the URL is larger than 1000 bytes');
    }
    await expect(fetchInputUrl(`${origin}/big`, options({ maxBytes: 1200 }))).resolves.toMatchObject({
      bytes: Buffer.alloc(1200),
    });
  });

  it('gives up after timeoutMs', async () => {
    const started = performance.now();
    const error = await rejection(fetchInputUrl(`${origin}/slow`, options({ timeoutMs: 200 })));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url', reason: 'URL_UNREACHABLE' });
    expect(error.message).toBe('The URL did not answer within 200 ms');
    expect(performance.now() - started).toBeLessThan(200 + 700);
  });

  it('stops at once when the caller cancels', async () => {
    const controller = new AbortController();
    const fetching = fetchInputUrl(`${origin}/slow`, options({ signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    const error = await rejection(fetching);
    expect(error.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'CANCELLED' });
    expect(performance.now() - started).toBeLessThan(50 + 700);

    const again = await rejection(fetchInputUrl(`${origin}/image`, options({ signal: controller.signal })));
    expect(again.extensions).toMatchObject({ reason: 'CANCELLED' });
  });

  it('reports unknown hosts, error statuses and refused connections as unreachable', async () => {
    const unknown = await rejection(fetchInputUrl('https://nowhere.test/x', options()));
    expect(unknown.extensions).toMatchObject({ reason: 'URL_UNREACHABLE' });
    expect(unknown.message).toBe("The URL's host could not be resolved");

    const missing = await rejection(fetchInputUrl(`${origin}/missing`, options()));
    expect(missing.extensions).toMatchObject({ reason: 'URL_UNREACHABLE' });
    expect(missing.message).toBe('The URL answered HTTP 404');

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await rejection(fetchInputUrl(`http://public.test:${closedPort}/`, options()));
    expect(refused.extensions).toMatchObject({ reason: 'URL_UNREACHABLE' });
    expect(refused.message).toBe('The URL could not be reached');
  });
});
