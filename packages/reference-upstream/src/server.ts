// The reference upstream's HTTP server: every AI service of the registry under `/{slug}`, speaking the upstream
// protocol of protocol.ts. Services without implemented operations still answer their health check (their
// wrappers describe themselves only). The work of an operation is aborted when the caller goes away.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { AI_SERVICES } from '@g3d/manifest';

import { type ServiceOperations, UpstreamError } from './protocol.ts';
import { IMPLEMENTED } from './services/index.ts';

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

/** A service's operations, or how to load them (on the first request that needs them). */
export type ServiceSource = ServiceOperations | (() => Promise<ServiceOperations>);

export interface ReferenceUpstreamOptions {
  /** Operations by service slug (default: every implemented service, loaded on first use). */
  services?: Readonly<Record<string, ServiceSource>>;
  /** Larger bodies are refused with 413 before they are read whole. */
  maxBodyBytes?: number;
  onError?: (error: unknown, where: string) => void;
}

/** What happened to each service's operations since start (health answers carry it; tests read it). */
export interface ServiceCounters {
  answered: number;
  refused: number;
  cancelled: number;
  inFlight: number;
}

export interface ReferenceUpstream {
  server: http.Server;
  counters(slug: string): ServiceCounters;
  listen(host: string, port: number): Promise<{ url: string; port: number }>;
  close(): Promise<void>;
}

const SLUGS = new Set<string>(AI_SERVICES.map((s) => s.slug));

function send(res: http.ServerResponse, status: number, body: unknown) {
  if (res.headersSent || res.destroyed) return;
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

const refuse = (res: http.ServerResponse, status: number, code: string, message: string, extra = {}) =>
  send(res, status, { error: { code, message, ...extra } });

/** Reads the body up to `max` bytes; null (and a 413 sent) when it is larger. */
async function readBody(req: http.IncomingMessage, res: http.ServerResponse, max: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) {
    refuse(res, 413, 'INPUT_TOO_LARGE', `The request body is larger than ${max} bytes`);
    req.resume();
    return null;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) {
      refuse(res, 413, 'INPUT_TOO_LARGE', `The request body is larger than ${max} bytes`);
      req.destroy();
      return null;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function createReferenceUpstream(options: ReferenceUpstreamOptions = {}): ReferenceUpstream {
  const sources = options.services ?? IMPLEMENTED;
  const loaded = new Map<string, Promise<ServiceOperations>>();
  /** Operation names of the services loaded so far (health answers). */
  const ready = new Map<string, string[]>();
  /** The slug's operations ({} for a service without any), loaded once. */
  const operationsOf = (slug: string): Promise<ServiceOperations> => {
    let operations = loaded.get(slug);
    if (!operations) {
      const source = sources[slug];
      operations = typeof source === 'function' ? source() : Promise.resolve(source ?? {});
      loaded.set(slug, operations);
      operations.then(
        (ops) => ready.set(slug, Object.keys(ops)),
        () => loaded.delete(slug),
      );
    }
    return operations;
  };
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const counters = new Map<string, ServiceCounters>();
  const countersOf = (slug: string) => {
    let c = counters.get(slug);
    if (!c) counters.set(slug, (c = { answered: 0, refused: 0, cancelled: 0, inFlight: 0 }));
    return c;
  };

  async function invoke(slug: string, name: string, req: http.IncomingMessage, res: http.ServerResponse) {
    const operations = await operationsOf(slug);
    const op = Object.hasOwn(operations, name) ? operations[name] : undefined;
    if (!op) {
      refuse(res, 404, 'UNKNOWN_OPERATION', `${slug} has no operation ${name}`);
      return;
    }
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      refuse(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the input as application/json');
      return;
    }
    const raw = await readBody(req, res, maxBody);
    if (!raw) return;
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      refuse(res, 400, 'INVALID_JSON', 'The body is not valid JSON');
      return;
    }
    const parsed = op.input.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') ?? '';
      refuse(res, 400, 'INVALID_INPUT', `${field || 'input'}: ${issue?.message ?? 'invalid'}`, { field });
      return;
    }
    // The caller going away (a cancelled job, a timeout) aborts the work.
    const controller = new AbortController();
    const count = countersOf(slug);
    res.on('close', () => {
      if (!res.writableFinished && !controller.signal.aborted) {
        count.cancelled += 1;
        controller.abort();
      }
    });
    count.inFlight += 1;
    try {
      const result = await op.run(parsed.data, { signal: controller.signal });
      count.answered += 1;
      send(res, 200, result);
    } catch (error) {
      if (error instanceof UpstreamError) {
        count.refused += 1;
        refuse(res, error.status, error.code, error.message);
      } else {
        options.onError?.(error, `${slug}.${name}`);
        refuse(res, 500, 'INTERNAL', 'The operation failed');
      }
    } finally {
      count.inFlight -= 1;
    }
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream');
    const [slug, ...rest] = url.pathname.split('/').filter(Boolean);
    if (req.method === 'GET' && (url.pathname === '/health' || url.pathname === '/healthz')) {
      send(res, 200, { status: 'ok', services: [...SLUGS] });
      return;
    }
    if (!slug || !SLUGS.has(slug)) {
      refuse(res, 404, 'UNKNOWN_SERVICE', 'No such service');
      return;
    }
    if (req.method === 'GET' && rest.length === 1 && rest[0] === 'health') {
      // Answered at once: a health check must not wait for a service's libraries to load.
      send(res, 200, { status: 'ok', service: slug, operations: ready.get(slug) ?? null, ...countersOf(slug) });
      return;
    }
    if (req.method === 'POST' && rest.length === 2 && rest[0] === 'v1') {
      invoke(slug, rest[1] as string, req, res).catch((error: unknown) => {
        options.onError?.(error, slug);
        refuse(res, 500, 'INTERNAL', 'The operation failed');
      });
      return;
    }
    refuse(res, 404, 'UNKNOWN_OPERATION', 'Use POST /{service}/v1/{operation} or GET /{service}/health');
  });
  server.keepAliveTimeout = 65_000;

  return {
    server,
    counters: countersOf,
    async listen(host, port) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      return { url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`, port: address.port };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
