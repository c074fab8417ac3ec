// The RBAC scope model, one source of truth: organization roles → scopes. A caller's token carries the
// scopes of their roles in the current organization, mapped through this table. `super_admin` is a platform
// role (identity's user.roles) and is never granted through an organization.
import { AI_SERVICES, type AiServiceSlug } from '@g3d/manifest';

/** Each AI service's domain role and scope prefix, from the one registry (packages/manifest). */
export const SERVICE_ACCESS = AI_SERVICES.map((s) => ({ service: s.slug, role: s.role, scope: s.scope }));

export type ServiceSlug = AiServiceSlug;

export const PLATFORM_SCOPES = {
  orgRead: 'org:read',
  orgAdmin: 'org:admin',
  /** Change the organization's plan and billing (owners). */
  billingAdmin: 'billing:admin',
  /** See the organization's usage, subscription and billing (owners, admins, the billing role). */
  billingRead: 'billing:read',
  telemetryRead: 'telemetry:read',
  platformAdmin: 'admin:platform',
} as const;

export const SERVICE_SCOPES: readonly string[] = SERVICE_ACCESS.flatMap((s) => [`${s.scope}:read`, `${s.scope}:write`]);

export type OrganizationRole = 'owner' | 'admin' | 'member' | 'billing' | (typeof AI_SERVICES)[number]['role'];

/** Roles an organization can grant. */
export const ORGANIZATION_ROLES: readonly OrganizationRole[] = [
  'owner',
  'admin',
  'member',
  'billing',
  ...AI_SERVICES.map((s) => s.role),
];

/** Platform roles, held on the user (identity), never granted by an organization. */
export const PLATFORM_ROLES = ['user', 'admin', 'super_admin'] as const;

const ROLE_SCOPES: Record<OrganizationRole, readonly string[]> = Object.fromEntries([
  // The owner can do everything in the organization, billing included.
  [
    'owner',
    [
      PLATFORM_SCOPES.orgRead,
      PLATFORM_SCOPES.orgAdmin,
      PLATFORM_SCOPES.billingAdmin,
      PLATFORM_SCOPES.billingRead,
      PLATFORM_SCOPES.telemetryRead,
      ...SERVICE_SCOPES,
    ],
  ],
  // "admin always passes" for every service (reference), administers the organization and sees its usage and
  // billing, but does not change the plan.
  [
    'admin',
    [
      PLATFORM_SCOPES.orgRead,
      PLATFORM_SCOPES.orgAdmin,
      PLATFORM_SCOPES.billingRead,
      PLATFORM_SCOPES.telemetryRead,
      ...SERVICE_SCOPES,
    ],
  ],
  ['member', [PLATFORM_SCOPES.orgRead]],
  // Sees the organization's usage and billing (e.g. an accountant); changes nothing, invokes no service.
  ['billing', [PLATFORM_SCOPES.orgRead, PLATFORM_SCOPES.billingRead]],
  ...SERVICE_ACCESS.map((s) => [s.role, [PLATFORM_SCOPES.orgRead, `${s.scope}:read`, `${s.scope}:write`]]),
]) as Record<OrganizationRole, readonly string[]>;

export function isOrganizationRole(role: string): role is OrganizationRole {
  return (ORGANIZATION_ROLES as readonly string[]).includes(role);
}

/** The scopes of a set of organization roles, sorted; unknown and platform roles grant nothing. */
export function scopesForRoles(roles: readonly string[]): string[] {
  const scopes = new Set<string>();
  for (const role of roles) if (isOrganizationRole(role)) for (const scope of ROLE_SCOPES[role]) scopes.add(scope);
  return [...scopes].sort();
}

/** The scopes a service needs: read for queries, write for mutations. */
export function serviceScopes(service: ServiceSlug): { read: string; write: string; role: string } {
  const access = SERVICE_ACCESS.find((s) => s.service === service);
  if (!access) throw new Error(`unknown service ${service}`);
  return { read: `${access.scope}:read`, write: `${access.scope}:write`, role: access.role };
}
