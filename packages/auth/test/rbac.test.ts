// The RBAC scope model: the table the reference gives (16 services, their roles and scopes) and the rules
// that make it safe (no platform role through an organization, unknown roles grant nothing).
import {
  ORGANIZATION_ROLES,
  PLATFORM_SCOPES,
  scopesForRoles,
  SERVICE_ACCESS,
  SERVICE_SCOPES,
  serviceScopes,
} from '@g3d/auth';
import { describe, expect, it } from 'vitest';

describe('RBAC scope model', () => {
  it('covers the 16 services of the reference with their domain roles and scope prefixes', () => {
    expect(SERVICE_ACCESS).toHaveLength(16);
    expect(serviceScopes('vision-pro')).toEqual({ role: 'medical', read: 'medical:read', write: 'medical:write' });
    expect(serviceScopes('code-forge')).toEqual({ role: 'developer', read: 'code:read', write: 'code:write' });
    expect(serviceScopes('mesh3d')).toEqual({ role: 'designer', read: '3d:read', write: '3d:write' });
    expect(new Set(SERVICE_ACCESS.map((s) => s.role)).size).toBe(16);
    expect(SERVICE_SCOPES).toHaveLength(32);
  });

  it('grants a domain role its own service scopes and org:read, nothing else', () => {
    expect(scopesForRoles(['developer'])).toEqual(['code:read', 'code:write', 'org:read']);
    expect(scopesForRoles(['developer', 'analyst'])).toEqual([
      'code:read',
      'code:write',
      'data:read',
      'data:write',
      'org:read',
    ]);
  });

  it('lets admin pass every service and administer the organization, but not billing', () => {
    const admin = scopesForRoles(['admin']);
    expect(admin).toEqual(
      expect.arrayContaining([...SERVICE_SCOPES, PLATFORM_SCOPES.orgAdmin, PLATFORM_SCOPES.telemetryRead]),
    );
    expect(admin).not.toContain(PLATFORM_SCOPES.billingAdmin);
    expect(scopesForRoles(['owner'])).toContain(PLATFORM_SCOPES.billingAdmin);
  });

  it('gives a plain member org:read only', () => {
    expect(scopesForRoles(['member'])).toEqual(['org:read']);
  });

  it('never grants platform administration through an organization', () => {
    for (const role of ORGANIZATION_ROLES) expect(scopesForRoles([role])).not.toContain(PLATFORM_SCOPES.platformAdmin);
    expect(scopesForRoles(['super_admin', 'admin:platform', 'user'])).toEqual([]);
  });

  it('ignores unknown and hostile role names', () => {
    expect(scopesForRoles(['', 'OWNER', 'owner ', '__proto__', 'constructor', 'x'.repeat(10_000)])).toEqual([]);
  });
});
