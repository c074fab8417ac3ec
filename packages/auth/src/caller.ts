// Who is calling, as rebuilt by a subgraph from the gateway's verified claims.
export type CallerKind = 'anonymous' | 'user' | 'apiKey';

export interface Caller {
  kind: CallerKind;
  userId: string | null;
  sessionId: string | null;
  /** The caller's current organization (from the access token). */
  organizationId: string | null;
  /** Platform roles (user, admin, super_admin) and the caller's roles in the current organization. */
  roles: string[];
  /** The caller's roles in the current organization mapped through the RBAC model (rbac.ts). */
  scopes: string[];
  /** The signed-in user's (verified) email address; null for anonymous callers and API keys. */
  email: string | null;
  /**
   * The current organization enforces MFA and this user has none: everything but the MFA enrolment path answers
   * MFA_REQUIRED (the kit enforces it in every subgraph).
   */
  mfaSetupRequired: boolean;
  /** The API key a `kind: 'apiKey'` caller presented (its id, never the secret; set for no other kind). */
  apiKeyId?: string | null;
}

export const ANONYMOUS: Caller = Object.freeze({
  kind: 'anonymous',
  userId: null,
  sessionId: null,
  organizationId: null,
  roles: [],
  scopes: [],
  email: null,
  mfaSetupRequired: false,
}) as Caller;

export const PLATFORM_ADMIN_ROLE = 'super_admin';

export function callerIsPlatformAdmin(caller: Caller): boolean {
  return caller.kind === 'user' && caller.roles.includes(PLATFORM_ADMIN_ROLE);
}

export function hasScopes(caller: Caller, scopes: readonly string[]): boolean {
  return scopes.every((scope) => caller.scopes.includes(scope));
}

/**
 * Store key under which identity marks a session revoked. The gateway refuses the session's access tokens
 * from then on; the entry lives as long as an access token can.
 */
export const revokedSessionKey = (sessionId: string) => `revoked:session:${sessionId}`;

/**
 * Store key under which organization records (epoch seconds) the last change of a user's memberships or of an
 * organization's MFA policy. The gateway refuses access tokens issued before it (AUTHORIZATION_CHANGED): the
 * client refreshes and gets the new roles and scopes at once, not when the token expires.
 */
export const authorizationChangedKey = (userId: string) => `authz:changed:${userId}`;

/**
 * Store key an owner of security state (identity, organization) sets once the store holds all of it (refilled
 * from its tables). Missing: the store is empty or new, and the gateway refuses to decide until it is back.
 */
export const securityStateReadyKey = (owner: string) => `security:ready:${owner}`;

/** Services whose security state the gateway reads from the store (revocations; authorization changes). */
export const SECURITY_STATE_OWNERS = ['identity', 'organization'] as const;

/**
 * Store key counting the requests that send mail (register, resendVerification, requestPasswordReset, inviteMember,
 * resendInvitation) from one client IP: identity and organization share one budget (MAIL_IP_LIMIT per window).
 */
export const mailRequestsFromIpKey = (ip: string) => `mail:ip:${ip}`;
export const MAIL_IP_WINDOW_MS = 60 * 60_000;

/** Store key under which identity marks an API key revoked (the gateway checks it on every request). */
export const revokedApiKeyKey = (apiKeyId: string) => `revoked:apikey:${apiKeyId}`;

/** What the identity service answers the gateway for a valid API key (POST /internal/api-keys/verify). */
export interface VerifiedApiKey {
  apiKeyId: string;
  caller: Caller;
}
