// The HTTP edge in front of GraphQL: CORS for browser apps (an origin allowlist), security headers (helmet), and a
// global rate limit per client address and per principal in the shared store (every replica counts the same
// window), answered with IETF RateLimit headers and, over the limit, 429 RATE_LIMITED with Retry-After.
import type { Caller } from '@g3d/auth';
import { errorBody } from '@g3d/errors';
import type { Logger } from '@g3d/kit';
import type { Store } from '@g3d/store';
import cors from 'cors';
import type express from 'express';
import helmet from 'helmet';

export const APOLLO_STUDIO_ORIGIN = 'https://studio.apollographql.com';

export interface CorsSettings {
  /** Exact origins allowed (scheme://host[:port]). */
  origins: readonly string[];
  /** Development: any http://localhost or 127.0.0.1 origin, whatever the port. */
  allowLocalhost: boolean;
  /** Apollo Studio's Explorer (its origin) may call the gateway. */
  allowApolloStudio: boolean;
}

const LOCALHOST = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/;

export function corsMiddleware(settings: CorsSettings): express.RequestHandler {
  const allowed = new Set([...settings.origins, ...(settings.allowApolloStudio ? [APOLLO_STUDIO_ORIGIN] : [])]);
  const handler = cors({
    origin: (origin, callback) => {
      // No Origin header: not a browser cross-origin request (curl, servers); CORS does not apply.
      if (!origin) return callback(null, true);
      callback(null, allowed.has(origin) || (settings.allowLocalhost && LOCALHOST.test(origin)));
    },
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: [
      'content-type',
      'authorization',
      'x-api-key',
      'x-request-id',
      'idempotency-key',
      'apollo-require-preflight',
      'x-apollo-operation-name',
    ],
    exposedHeaders: ['x-request-id', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after'],
    maxAge: 600,
  });
  return (req, res, next) => {
    const origin = req.header('origin');
    const preflight = req.method === 'OPTIONS';
    handler(req, res, () => {
      // A preflight from an origin that is not allowed gets no CORS headers: refuse it plainly (the browser would
      // refuse anyway; a 403 makes the reason visible).
      if (origin && !res.getHeader('access-control-allow-origin')) {
        if (preflight) {
          res.status(403).json(errorBody('FORBIDDEN', 'This origin may not call the API (CORS_ORIGINS)'));
          return;
        }
      }
      next();
    });
  };
}

/** Security headers fit for a JSON API (and the Sandbox landing page in development). */
export function securityHeaders(production: boolean): express.RequestHandler {
  return helmet({
    // The development landing page loads Apollo's embedded Sandbox from its CDN.
    contentSecurityPolicy: production ? { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } : false,
    crossOriginEmbedderPolicy: false,
    strictTransportSecurity: production ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  });
}

export interface RateLimitSettings {
  /** Requests per client address per window. */
  perIp: number;
  /** Requests per signed-in user (or API key owner) per window. */
  perPrincipal: number;
  windowSeconds: number;
}

/**
 * One atomic store call per request counts the client's address and, when signed in, the principal (fixed
 * windows). Runs after authentication; the address counts anonymous and authenticated traffic alike.
 */
export function rateLimit(
  store: Store,
  settings: RateLimitSettings,
  ipOf: (req: express.Request) => string,
  logger: Logger,
) {
  const handler: express.RequestHandler = (req, res, next) => {
    const caller = res.locals.caller as Caller | undefined;
    const window = Math.floor(Date.now() / 1000 / settings.windowSeconds);
    const ttlMs = settings.windowSeconds * 1000;
    const steps = [{ incr: `rl:ip:${ipOf(req)}:${window}`, ttlMs, max: settings.perIp, undo: false }];
    const principal = caller?.userId ?? null;
    if (principal)
      steps.push({ incr: `rl:principal:${principal}:${window}`, ttlMs, max: settings.perPrincipal, undo: false });
    store.atomic(steps).then(
      ({ values, refused }) => {
        const resetSeconds = settings.windowSeconds - (Math.floor(Date.now() / 1000) % settings.windowSeconds);
        // The tighter of the two counters is the one the client sees.
        const remaining = steps.map((step, i) => step.max - Number(values[i] ?? step.max));
        const tightest = remaining.indexOf(Math.min(...remaining));
        const limit = steps[tightest]?.max ?? settings.perIp;
        res.setHeader('ratelimit-limit', String(limit));
        res.setHeader('ratelimit-remaining', String(Math.max(0, remaining[tightest] ?? 0)));
        res.setHeader('ratelimit-reset', String(resetSeconds));
        res.setHeader('ratelimit-policy', `${settings.perIp};w=${settings.windowSeconds}`);
        if (!refused) {
          next();
          return;
        }
        const retryAfterSeconds = Math.max(1, Math.ceil((refused.ttlMs ?? ttlMs) / 1000));
        res.setHeader('retry-after', String(retryAfterSeconds));
        const who = refused.step === 0 ? 'this address' : 'this account';
        res
          .status(429)
          .json(errorBody('RATE_LIMITED', `Too many requests from ${who}; retry later`, { retryAfterSeconds }));
      },
      (error: unknown) => {
        logger.error(
          { err: error, dependency: 'store', requestId: res.locals.requestId },
          'cannot check the request rate',
        );
        res
          .status(503)
          .json(errorBody('SERVICE_UNAVAILABLE', 'Cannot check the request rate right now', { dependency: 'store' }));
      },
    );
  };
  return handler;
}
