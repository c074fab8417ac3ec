// Authentication at the edge. `Authorization: Bearer <access token>` (a JWT from identity, Ed25519) is verified
// and its session checked against the revocation list in the shared store; `Authorization: Bearer g3d_…` or
// `x-api-key: g3d_…` is an API key, verified by identity and checked for revocation. No credentials →
// anonymous; bad credentials → 401.
import {
  ANONYMOUS,
  authorizationChangedKey,
  type Caller,
  callerFromAccessClaims,
  revokedApiKeyKey,
  revokedSessionKey,
  SECURITY_STATE_OWNERS,
  securityStateReadyKey,
  verifyAccessToken,
} from '@g3d/auth';
import { errorBody } from '@g3d/errors';
import type { Logger } from '@g3d/kit';
import { type Store, StoreUnavailableError } from '@g3d/store';
import type express from 'express';
import type { JWTVerifyGetKey } from 'jose';

import type { ApiKeyVerifier } from './api-keys.ts';

export interface PlatformAuth {
  mode: 'platform';
  accessKeys: JWTVerifyGetKey;
  issuer: string;
  audience: string;
}

// The scheme is case-insensitive (RFC 9110); the credential is a JWT or an API key.
const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]{1,8192})$/i;
const API_KEY_PREFIX = 'g3d_';

/** A dependency needed to decide failed: the request is answered 503 and logged, never 401. */
class DependencyError extends Error {
  constructor(
    readonly dependency: string,
    cause: unknown,
  ) {
    super(`${dependency} is unavailable`, { cause });
  }
}

class CredentialError extends Error {
  constructor(
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

/**
 * The store holds the security state only when every owner says so (its marker): a store that came back empty
 * would otherwise answer "not revoked" for revoked sessions. Until the owners have refilled it, refuse (503).
 */
async function requireSecurityState(store: Store): Promise<void> {
  const markers = await Promise.all(SECURITY_STATE_OWNERS.map((owner) => store.get(securityStateReadyKey(owner))));
  if (markers.some((marker) => !marker)) {
    throw new DependencyError('store', new Error('the store does not hold the security state yet (being refilled)'));
  }
}

/** When the user's memberships or organization policy last changed (epoch ms), or 0. */
async function authorizationChangedAt(store: Store, userId: string | null): Promise<number> {
  if (!userId) return 0;
  return Number(await store.get(authorizationChangedKey(userId))) || 0;
}

export function authenticate(
  auth: PlatformAuth,
  store: Store,
  verifyApiKey: ApiKeyVerifier | null,
  logger: Logger,
): express.RequestHandler {
  return (req, res, next) => {
    const header = req.header('authorization');
    const apiKeyHeader = req.header('x-api-key');
    if (!header && !apiKeyHeader) {
      res.locals.caller = ANONYMOUS;
      next();
      return;
    }
    let credential: { kind: 'jwt' | 'apiKey'; value: string };
    if (header) {
      const match = BEARER.exec(header);
      if (!match?.[1]) {
        res.status(401).json(errorBody('UNAUTHENTICATED', 'Malformed Authorization header'));
        return;
      }
      credential = { kind: match[1].startsWith(API_KEY_PREFIX) ? 'apiKey' : 'jwt', value: match[1] };
    } else {
      credential = { kind: 'apiKey', value: apiKeyHeader as string };
    }
    const resolve =
      credential.kind === 'jwt'
        ? callerFromAccessToken(auth, store, credential.value)
        : callerFromApiKey(verifyApiKey, store, credential.value, res.locals.requestId as string);
    resolve.then(
      (caller) => {
        res.locals.caller = caller;
        next();
      },
      (error: unknown) => {
        if (error instanceof CredentialError) {
          res
            .status(401)
            .json(errorBody('UNAUTHENTICATED', error.message, error.reason ? { reason: error.reason } : {}));
        } else {
          const dependency = error instanceof DependencyError ? error.dependency : dependencyOf(error);
          logger.error({ err: error, dependency, requestId: res.locals.requestId }, 'cannot verify credentials');
          res.status(503).json(
            errorBody('SERVICE_UNAVAILABLE', 'Cannot verify credentials right now; retry in a moment', {
              dependency,
            }),
          );
        }
      },
    );
  };
}

/**
 * jose's codes for a token that is wrong (401). Anything else — identity's keys could not be fetched (down,
 * timeout, a malformed answer) — is the platform's failure (503): a valid token must never read as invalid, or
 * clients would sign their users out.
 */
const TOKEN_ERRORS = new Set([
  'ERR_JWT_EXPIRED',
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JWT_INVALID',
  'ERR_JWS_INVALID',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
]);

async function callerFromAccessToken(auth: PlatformAuth, store: Store, token: string): Promise<Caller> {
  const claims = await verifyAccessToken(auth.accessKeys, token, auth).catch((error: unknown) => {
    const code = (error as { code?: unknown }).code;
    if ((typeof code === 'string' && TOKEN_ERRORS.has(code)) || (error as Error).message === 'malformed claims')
      throw new CredentialError('Invalid or expired access token');
    throw new DependencyError('identity', error);
  });
  // All lookups in one round trip (the store pipelines them).
  const [revoked, changedAt] = await Promise.all([
    store.get(revokedSessionKey(claims.sessionId)),
    authorizationChangedAt(store, claims.userId),
    requireSecurityState(store),
  ]);
  if (revoked) throw new CredentialError('Session revoked');
  if (changedAt >= claims.authorizedAt) {
    throw new CredentialError(
      'Your roles or organization changed since this token was issued; refresh it',
      'AUTHORIZATION_CHANGED',
    );
  }
  return callerFromAccessClaims(claims);
}

async function callerFromApiKey(
  verifier: ApiKeyVerifier | null,
  store: Store,
  key: string,
  requestId: string,
): Promise<Caller> {
  if (!verifier || key.length > 256 || !key.startsWith(API_KEY_PREFIX)) throw new CredentialError('Invalid API key');
  let verified = await verifier.verify(key, requestId);
  if (!verified) throw new CredentialError('Invalid API key');
  const [revoked, changedAt] = await Promise.all([
    store.get(revokedApiKeyKey(verified.apiKeyId)),
    authorizationChangedAt(store, verified.caller.userId),
    requireSecurityState(store),
  ]);
  if (revoked) throw new CredentialError('API key revoked');
  // The owner's roles changed since identity answered (the answer is cached): ask again.
  if (changedAt >= verified.verifiedAt) verified = await verifier.verify(key, requestId, { fresh: true });
  if (!verified) throw new CredentialError('Invalid API key');
  return verified.caller;
}

/** Which dependency failed: the store, or identity (its keys, its API-key verification). */
function dependencyOf(error: unknown): string {
  return error instanceof StoreUnavailableError ? 'store' : 'identity';
}
