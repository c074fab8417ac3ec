// Authentication at the edge: a Bearer access token (JWT from identity, Ed25519) is verified and checked
// against the revocation list in the shared store. No credentials → anonymous; bad credentials → 401.
import { ANONYMOUS, type Caller, revokedSessionKey, verifyAccessToken } from '@g3d/auth';
import { errorBody } from '@g3d/errors';
import type { Store } from '@g3d/store';
import type express from 'express';
import type { JWTVerifyGetKey } from 'jose';

export interface PlatformAuth {
  mode: 'platform';
  accessKeys: JWTVerifyGetKey;
  issuer: string;
  audience: string;
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]{1,8192})$/;

export function authenticate(auth: PlatformAuth, store: Store): express.RequestHandler {
  return (req, res, next) => {
    const header = req.header('authorization');
    if (!header) {
      res.locals.caller = ANONYMOUS;
      next();
      return;
    }
    const match = BEARER.exec(header);
    if (!match?.[1]) {
      res.status(401).json(errorBody('UNAUTHENTICATED', 'Malformed Authorization header'));
      return;
    }
    const token = match[1];
    resolveCaller(auth, store, token).then(
      (caller) => {
        res.locals.caller = caller;
        next();
      },
      (error: unknown) => {
        const message = error instanceof RevokedError ? 'Session revoked' : 'Invalid or expired access token';
        res.status(401).json(errorBody('UNAUTHENTICATED', message));
      },
    );
  };
}

class RevokedError extends Error {}

async function resolveCaller(auth: PlatformAuth, store: Store, token: string): Promise<Caller> {
  const claims = await verifyAccessToken(auth.accessKeys, token, auth);
  if (await store.get(revokedSessionKey(claims.sessionId))) throw new RevokedError();
  return {
    kind: 'user',
    userId: claims.userId,
    sessionId: claims.sessionId,
    organizationId: claims.organizationId,
    roles: claims.roles,
    scopes: claims.scopes,
  };
}
