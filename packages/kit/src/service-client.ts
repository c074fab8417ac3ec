// Calls from one service to another's /internal routes, signed with the caller's own key (service token). The
// callee lists the callers it trusts (SubgraphDeps.trustedServices) and may restrict a route to one (onlyFrom).
import { SERVICE_TOKEN_HEADER, type SigningKey, signServiceToken } from '@g3d/auth';
import { errorBody } from '@g3d/errors';
import type express from 'express';

import { createHttpFetcher } from './http-fetcher.ts';

export interface ServiceClientOptions {
  /** The calling service (the token's issuer). */
  self: string;
  key: SigningKey;
  /** The service called (the token's audience). */
  target: string;
  /** Any URL of the target service (its origin is used), or a function giving it when it is known later. */
  url: string | (() => string);
  timeoutMs?: number;
}

export type ServiceClient = <T>(path: string, body: unknown, requestId?: string) => Promise<T>;

/** POSTs JSON to `<target origin>/internal<path>`; rejects on a network error, a timeout or a non-2xx answer. */
export function createServiceClient(options: ServiceClientOptions): ServiceClient {
  // Keep-alive connections: these calls sit on hot paths (identity → organization at every login).
  const { fetch } = createHttpFetcher();
  let resolved: string | undefined;
  const origin = () => (resolved ??= new URL(typeof options.url === 'string' ? options.url : options.url()).origin);
  return async <T>(path: string, body: unknown, requestId = 'internal'): Promise<T> => {
    const token = await signServiceToken(options.key, options.self, options.target);
    const response = await fetch(`${origin()}/internal${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [SERVICE_TOKEN_HEADER]: token,
        'x-g3d-service': options.self,
        'x-request-id': requestId,
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
    });
    if (!response.ok) {
      throw new Error(`${options.target} answered ${response.status} to ${path}`);
    }
    return (await response.json()) as T;
  };
}

/** An /internal route only the named service may call (not the gateway, not another service). */
export function onlyFrom(service: string): express.RequestHandler {
  return (_req, res, next) => {
    if (res.locals.service === service) next();
    else res.status(403).json(errorBody('FORBIDDEN', `Only the ${service} service may call this`));
  };
}
