// Service-to-service calls (POST /internal/<path>) declared by a contract (packages/contracts) that both ends
// import: the route validates the request and the caller, the client validates the answer. Every failure has
// one shape (a GraphQL-style error body with a registered code and its HTTP status) and is logged once.
import { SERVICE_TOKEN_HEADER, type SigningKey, signServiceToken } from '@g3d/auth';
import type { InternalContract } from '@g3d/contracts';
import { AppError, errorBody, type ErrorCode, HTTP_STATUS, isErrorCode } from '@g3d/errors';
import type express from 'express';
import type { z } from 'zod';

import { type BufferedResponse, createHttpFetcher } from './http-fetcher.ts';
import type { Logger } from './logger.ts';

export interface InternalContext {
  requestId: string;
  /** Who called: a service name (service token) or `gateway` (gateway token). */
  caller: string;
  logger: Logger;
}

export interface InternalRoute {
  contract: InternalContract;
  handle(body: unknown, context: InternalContext): Promise<unknown>;
}

/** A route serving `contract`: `handle` gets the validated body and returns the answer. */
export function internalRoute<C extends InternalContract>(
  contract: C,
  handle: (body: z.output<C['request']>, context: InternalContext) => Promise<z.input<C['response']>>,
): InternalRoute {
  return { contract, handle: (body, context) => handle(body as z.output<C['request']>, context) };
}

/**
 * Express handler for one route, mounted behind the door that put the verified caller in `res.locals.caller`
 * (`gateway`, or the calling service) and the request id in `res.locals.requestId`.
 */
export function serveInternalRoute(route: InternalRoute, logger: Logger): express.RequestHandler {
  const { contract } = route;
  return (req, res) => {
    const caller = res.locals.internalCaller as string;
    const requestId = res.locals.requestId as string;
    const log = logger.child({ requestId, route: contract.path, caller });
    if (!contract.callers.includes(caller)) {
      res.status(403).json(errorBody('FORBIDDEN', `Only ${contract.callers.join(', ')} may call this`));
      return;
    }
    const parsed = contract.request.safeParse(req.body);
    if (!parsed.success) {
      log.warn({ issues: parsed.error.issues.slice(0, 5) }, 'internal request refused: invalid body');
      res.status(400).json(errorBody('BAD_REQUEST', `Invalid request body for ${contract.path}`));
      return;
    }
    route.handle(parsed.data, { requestId, caller, logger: log }).then(
      (answer) => res.json(answer),
      (error: unknown) => {
        const code: ErrorCode =
          error instanceof AppError ? (error.extensions.code as ErrorCode) : 'INTERNAL_SERVER_ERROR';
        if (code === 'INTERNAL_SERVER_ERROR') log.error({ err: error }, 'internal route failed');
        else log.warn({ code }, 'internal route refused');
        const message = code === 'INTERNAL_SERVER_ERROR' ? 'Internal server error' : (error as Error).message;
        res.status(HTTP_STATUS[code]).json(errorBody(code, message, { requestId }));
      },
    );
  };
}

/** A failed internal call: the callee's code and HTTP status, or SERVICE_UNAVAILABLE when it could not answer. */
export class InternalCallError extends Error {
  constructor(
    readonly target: string,
    readonly path: string,
    readonly code: ErrorCode,
    readonly status: number | null,
    message: string,
  ) {
    super(message);
    this.name = 'InternalCallError';
  }
}

export interface InternalClientOptions {
  /** The calling service (for logs). */
  self: string;
  /** The service called. */
  target: string;
  /** Any URL of the target (its origin is used), or a function giving it once it is known. */
  url: string | (() => string);
  /** The credentials of each call: a service token, or the gateway's token. */
  headers: (requestId: string) => Promise<Record<string, string>>;
  logger: Logger;
  timeoutMs?: number;
}

export interface InternalClient {
  call<C extends InternalContract>(
    contract: C,
    body: z.input<C['request']>,
    requestId?: string,
  ): Promise<z.output<C['response']>>;
  close(): void;
}

export function createInternalClient(options: InternalClientOptions): InternalClient {
  // Keep-alive connections: these calls sit on hot paths (identity → organization at every login).
  const fetcher = createHttpFetcher();
  let origin: string | undefined;
  const resolveOrigin = () =>
    (origin ??= new URL(typeof options.url === 'string' ? options.url : options.url()).origin);
  const fail = (contract: InternalContract, code: ErrorCode, status: number | null, detail: string): never => {
    options.logger.warn({ target: options.target, route: contract.path, code, status, detail }, 'internal call failed');
    throw new InternalCallError(
      options.target,
      contract.path,
      code,
      status,
      `${options.target} ${contract.path}: ${detail}`,
    );
  };
  return {
    async call<C extends InternalContract>(
      contract: C,
      body: z.input<C['request']>,
      requestId = 'internal',
    ): Promise<z.output<C['response']>> {
      let response: BufferedResponse;
      try {
        response = await fetcher.fetch(`${resolveOrigin()}/internal${contract.path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-request-id': requestId,
            ...(await options.headers(requestId)),
          },
          body: JSON.stringify(contract.request.parse(body)),
          signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
        });
      } catch (error) {
        const reason = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : 'unreachable';
        return fail(contract, 'SERVICE_UNAVAILABLE', null, reason);
      }
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return fail(contract, 'SERVICE_UNAVAILABLE', response.status, 'answered something other than JSON');
      }
      if (!response.ok) {
        const code = (json as { errors?: { extensions?: { code?: unknown } }[] }).errors?.[0]?.extensions?.code;
        return fail(
          contract,
          isErrorCode(code) ? code : 'SERVICE_UNAVAILABLE',
          response.status,
          `HTTP ${response.status}`,
        );
      }
      const parsed = contract.response.safeParse(json);
      if (!parsed.success)
        return fail(contract, 'SERVICE_UNAVAILABLE', response.status, 'answered an unexpected shape');
      return parsed.data as z.output<C['response']>;
    },
    close: () => fetcher.close(),
  };
}

/** Headers of a call signed with the calling service's own key (verified by the callee with its JWKS). */
export function serviceTokenHeaders(self: string, key: SigningKey, target: string) {
  return async (): Promise<Record<string, string>> => ({
    [SERVICE_TOKEN_HEADER]: await signServiceToken(key, self, target),
    'x-g3d-service': self,
  });
}
