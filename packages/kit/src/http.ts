// HTTP plumbing shared by the gateway and every subgraph: JSON body parsing with GraphQL-shaped errors,
// listening on a port, and draining on shutdown.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { errorBody } from '@g3d/errors';
import express from 'express';

export const MAX_BODY_BYTES = 1024 * 1024;

/** Parses JSON bodies; a malformed or oversize body gets a 400 (413) with a GraphQL error, never an HTML 500. */
export function jsonBody(limitBytes: number = MAX_BODY_BYTES): express.RequestHandler {
  return express.json({ limit: limitBytes });
}

export const httpErrorHandler: express.ErrorRequestHandler = (error, _req, res, next) => {
  if (res.headersSent) {
    next(error);
    return;
  }
  const status = typeof error?.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
  const message =
    status === 413 ? 'Request body too large' : status < 500 ? 'Malformed request body' : 'Internal server error';
  res.status(status).json(errorBody(status < 500 ? 'BAD_REQUEST' : 'INTERNAL_SERVER_ERROR', message));
};

export interface Listening {
  server: http.Server;
  url: string;
  port: number;
}

export async function listen(server: http.Server, host: string, port: number): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return { server, port: address.port, url: `http://${shownHost}:${address.port}` };
}

export function createHttpServer(app: express.Express): http.Server {
  const server = http.createServer(app);
  // Keep-alive slightly longer than typical load balancer idle timeouts.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}

export interface Readiness {
  ok: boolean;
  latencyMs: number;
  /** Why it is not ready: the HTTP status, or that it timed out or could not be reached. */
  error: string | null;
}

/** GET <service>/readyz with a timeout (the gateway's /readyz and telemetry's health checks). */
export async function probeReadiness(serviceUrl: string, timeoutMs: number): Promise<Readiness> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  try {
    const response = await fetch(new URL('/readyz', serviceUrl), { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return { ok: response.ok, latencyMs: latency(), error: response.ok ? null : `HTTP ${response.status}` };
  } catch (error) {
    const reason = error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : 'unreachable';
    return { ok: false, latencyMs: latency(), error: reason };
  }
}

/**
 * Graceful shutdown, first step: the service keeps serving but says it is going (readiness fails, so load
 * balancers stop sending; every response carries `Connection: close`, so keep-alive clients reconnect to
 * another replica). Then stop(): stop accepting, finish in-flight requests within the grace period, exit.
 */
export class Draining {
  private draining = false;
  private lastConnectionAt = 0;

  start(): void {
    this.draining = true;
  }

  /** Notes when connections arrive (see quiet). */
  watch(server: http.Server): void {
    server.on('connection', () => {
      this.lastConnectionAt = Date.now();
    });
  }

  /**
   * Resolves once no connection has arrived for `quietMs` (at most after `maxMs`): stopping the listener then
   * cannot reset a connection a client has just opened (still waiting to be accepted while the process was busy).
   * Behind a load balancer that saw readiness fail, this is at once.
   */
  async quiet(quietMs = 250, maxMs = 5_000): Promise<void> {
    const deadline = Date.now() + maxMs;
    for (;;) {
      const wait = this.lastConnectionAt + quietMs - Date.now();
      if (wait <= 0 || Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(wait, deadline - Date.now())));
    }
  }

  get active(): boolean {
    return this.draining;
  }

  /** Marks responses `Connection: close` while draining. */
  readonly middleware: express.RequestHandler = (_req, res, next) => {
    if (this.draining) res.setHeader('connection', 'close');
    next();
  };
}
