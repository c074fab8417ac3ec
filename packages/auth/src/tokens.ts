// The kinds of JWT between parts of the platform, all EdDSA (Ed25519); signed, and gateway tokens verified, with
// node:crypto (jws.ts: per-request work); access and service tokens verified with jose (JWKS, kid selection):
// - access tokens: issued by identity to clients, verified by the gateway (typ at+jwt, RFC 9068);
// - gateway tokens: minted by the gateway for each subgraph fetch, verified by the subgraph. They carry the
//   caller as verified at the edge, are bound to one subgraph (aud) and live 60 s, so a subgraph reached
//   directly, or with a token meant for another subgraph, refuses the request;
// - service tokens: one service calling another's /internal routes (below).
import { randomUUID } from 'node:crypto';

import { jwtVerify, type JWTVerifyGetKey } from 'jose';

import type { Caller } from './caller.ts';
import { signJwt, verifyJwt } from './jws.ts';
import type { SigningKey, VerifyKey } from './keys.ts';

export const ACCESS_TOKEN_TYPE = 'at+jwt';
export const GATEWAY_TOKEN_TYPE = 'g3d-gateway+jwt';
export const GATEWAY_TOKEN_HEADER = 'x-g3d-gateway-token';
export const GATEWAY_ISSUER = 'g3d-gateway';
const GATEWAY_TOKEN_TTL_S = 60;

export interface AccessTokenClaims {
  userId: string;
  sessionId: string;
  organizationId: string | null;
  roles: string[];
  scopes: string[];
  email: string;
  /** The current organization enforces MFA and the user has none (see Caller.mfaSetupRequired). */
  mfaSetupRequired: boolean;
  /**
   * When the roles in this token were looked up (epoch ms, before asking organization): the gateway refuses the
   * token when the user's authorization changed at or after it (claim `authz_at`).
   */
  authorizedAt: number;
}

export interface AccessTokenSettings {
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export async function signAccessToken(key: SigningKey, settings: AccessTokenSettings, claims: AccessTokenClaims) {
  return signJwt(
    key.privateKey,
    { typ: ACCESS_TOKEN_TYPE, kid: key.kid, ttlSeconds: settings.ttlSeconds },
    {
      sid: claims.sessionId,
      org: claims.organizationId,
      roles: claims.roles,
      scope: claims.scopes.join(' '),
      email: claims.email,
      authz_at: claims.authorizedAt,
      ...(claims.mfaSetupRequired ? { mfa_setup_required: true } : {}),
      iss: settings.issuer,
      aud: settings.audience,
      sub: claims.userId,
      jti: randomUUID(),
    },
  );
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

/** Verifies an access token (signature, alg, typ, iss, aud, exp, nbf); throws on any failure. */
export async function verifyAccessToken(
  keys: JWTVerifyGetKey,
  token: string,
  settings: Pick<AccessTokenSettings, 'issuer' | 'audience'>,
): Promise<AccessTokenClaims & { expiresAt: number }> {
  const { payload } = await jwtVerify(token, keys, {
    algorithms: ['EdDSA'],
    typ: ACCESS_TOKEN_TYPE,
    issuer: settings.issuer,
    audience: settings.audience,
    requiredClaims: ['sub', 'sid', 'exp', 'iat'],
    clockTolerance: 5,
  });
  if (typeof payload.sid !== 'string' || typeof payload.sub !== 'string') throw new Error('malformed claims');
  return {
    userId: payload.sub,
    sessionId: payload.sid,
    organizationId: typeof payload.org === 'string' ? payload.org : null,
    roles: strings(payload.roles),
    scopes: typeof payload.scope === 'string' && payload.scope ? payload.scope.split(' ') : [],
    email: typeof payload.email === 'string' ? payload.email : '',
    mfaSetupRequired: payload.mfa_setup_required === true,
    expiresAt: payload.exp ?? 0,
    authorizedAt: typeof payload.authz_at === 'number' ? payload.authz_at : (payload.iat ?? 0) * 1000,
  };
}

/** The caller a verified access token stands for: a signed-in user in their token's organization. */
export function callerFromAccessClaims(claims: AccessTokenClaims): Caller {
  return {
    kind: 'user',
    userId: claims.userId,
    sessionId: claims.sessionId,
    organizationId: claims.organizationId,
    roles: claims.roles,
    scopes: claims.scopes,
    email: claims.email || null,
    mfaSetupRequired: claims.mfaSetupRequired,
  };
}

/** Where the request came from, as seen by the gateway (audit, sessions, per-IP throttling). */
export interface ClientInfo {
  ip: string;
  userAgent: string;
}

export const UNKNOWN_CLIENT: ClientInfo = Object.freeze({ ip: '', userAgent: '' });

export interface GatewayTokenClaims {
  caller: Caller;
  requestId: string;
  client?: ClientInfo;
}

export async function signGatewayToken(key: SigningKey, audience: string, claims: GatewayTokenClaims) {
  return signJwt(
    key.privateKey,
    { typ: GATEWAY_TOKEN_TYPE, kid: key.kid, ttlSeconds: GATEWAY_TOKEN_TTL_S },
    {
      caller: claims.caller,
      rid: claims.requestId,
      client: claims.client ?? UNKNOWN_CLIENT,
      iss: GATEWAY_ISSUER,
      aud: audience,
    },
  );
}

function parseCaller(value: unknown): Caller {
  if (typeof value !== 'object' || value === null) throw new Error('missing caller');
  const v = value as Record<string, unknown>;
  const kind = v.kind === 'user' || v.kind === 'apiKey' ? v.kind : 'anonymous';
  const str = (x: unknown) => (typeof x === 'string' ? x : null);
  return {
    kind,
    userId: str(v.userId),
    sessionId: str(v.sessionId),
    organizationId: str(v.organizationId),
    roles: strings(v.roles),
    scopes: strings(v.scopes),
    email: str(v.email),
    mfaSetupRequired: v.mfaSetupRequired === true,
    ...(kind === 'apiKey' ? { apiKeyId: str(v.apiKeyId) } : {}),
  };
}

export async function verifyGatewayToken(
  key: VerifyKey,
  token: string,
  audience: string,
): Promise<Required<GatewayTokenClaims>> {
  const payload = verifyJwt(token, key.publicKey, {
    typ: GATEWAY_TOKEN_TYPE,
    issuer: GATEWAY_ISSUER,
    audience,
    maxTokenAgeS: GATEWAY_TOKEN_TTL_S,
    requiredClaims: ['exp', 'iat'],
    clockToleranceS: 5,
  });
  const client = (payload.client ?? {}) as Partial<Record<keyof ClientInfo, unknown>>;
  return {
    caller: parseCaller(payload.caller),
    requestId: typeof payload.rid === 'string' ? payload.rid : 'unknown',
    client: {
      ip: typeof client.ip === 'string' ? client.ip : '',
      userAgent: typeof client.userAgent === 'string' ? client.userAgent : '',
    },
  };
}

// Service tokens: one service calling another's /internal routes (identity asking organization for a user's
// memberships). Signed with the calling service's own key, bound to the callee (aud), 60 s.
export const SERVICE_TOKEN_TYPE = 'g3d-service+jwt';
export const SERVICE_TOKEN_HEADER = 'x-g3d-service-token';
const SERVICE_TOKEN_TTL_S = 60;

export async function signServiceToken(key: SigningKey, issuer: string, audience: string): Promise<string> {
  return signJwt(
    key.privateKey,
    { typ: SERVICE_TOKEN_TYPE, kid: key.kid, ttlSeconds: SERVICE_TOKEN_TTL_S },
    { iss: issuer, aud: audience },
  );
}

/** Verifies a service token from `issuer` (with that service's keys) meant for `audience`; throws on failure. */
export async function verifyServiceToken(
  keys: JWTVerifyGetKey,
  token: string,
  expected: { issuer: string; audience: string },
): Promise<void> {
  await jwtVerify(token, keys, {
    algorithms: ['EdDSA'],
    typ: SERVICE_TOKEN_TYPE,
    issuer: expected.issuer,
    audience: expected.audience,
    maxTokenAge: `${SERVICE_TOKEN_TTL_S}s`,
    requiredClaims: ['exp', 'iat'],
    clockTolerance: 5,
  });
}
