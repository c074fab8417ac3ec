// Creating, updating and deleting organizations. Input is validated whole before any write; slug uniqueness is
// the database's (a concurrent duplicate gets CONFLICT, never a 500). Updates run under the organization lock
// (organization-lock.ts) so two concurrent settings changes cannot lose each other's fields.
import type { Organization, PrismaClient, Tx } from '@g3d/db';
import { badUserInput, conflict, forbidden } from '@g3d/errors';
import type { Idempotency } from '@g3d/kit';
import { normalizeEmail } from '@g3d/kit';

import type { OrganizationAuditLog } from '../audit/organization-audit.ts';
import type { InvitationsRepository } from '../invitations/invitations.repository.ts';
import { publishMembershipChange } from '../memberships/membership-events.ts';
import { asOwner, isAdmin, isOwner } from '../memberships/roles.ts';
import * as input from './organization-input.ts';
import type { OrganizationLock } from './organization-lock.ts';
import type { OrganizationsRepository } from './organizations.repository.ts';

interface ProfileInput {
  description?: string | null;
  website?: string | null;
  industry?: string | null;
  size?: string | null;
  billingEmail?: string | null;
  billingAddress?: string | null;
  taxId?: string | null;
}

export interface CreateOrganizationInput extends ProfileInput {
  name: string;
  slug: string;
}

export interface UpdateOrganizationInput extends ProfileInput {
  name?: string | null;
  settings?: Partial<Record<keyof input.OrganizationSettings, unknown>> | null;
}

const uniqueViolation = (error: unknown) => (error as { code?: string }).code === 'P2002';

/** The profile fields present in `data`, cleaned ('' clears an optional field). */
function profile(data: ProfileInput): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  const optional = (value: string) => value || null;
  if (data.description != null) patch.description = input.text(data.description, 'description', 2000);
  if (data.website != null) patch.website = optional(input.website(data.website));
  if (data.industry != null) patch.industry = optional(input.text(data.industry, 'industry', 100));
  if (data.size != null) patch.size = data.size;
  if (data.billingEmail != null)
    patch.billingEmail = data.billingEmail === '' ? null : normalizeEmail(data.billingEmail, 'billingEmail');
  if (data.billingAddress != null)
    patch.billingAddress = optional(input.text(data.billingAddress, 'billingAddress', 500));
  if (data.taxId != null) patch.taxId = optional(input.text(data.taxId, 'taxId', 50));
  return patch;
}

export interface OrganizationsDeps {
  prisma: PrismaClient;
  /** Idempotency keys of creations (a retried createOrganization returns the first organization). */
  idempotency: Idempotency;
  lock: OrganizationLock;
  organizations: OrganizationsRepository;
  invitations: InvitationsRepository;
  audit: OrganizationAuditLog;
}

export class OrganizationsService {
  private readonly repo: OrganizationsRepository;
  private readonly audit: OrganizationAuditLog;

  constructor(private readonly deps: OrganizationsDeps) {
    this.repo = deps.organizations;
    this.audit = deps.audit;
  }

  /**
   * With an idempotency key (the client's Idempotency-Key), a retry — after a lost answer — returns the
   * organization the first request created instead of "slug taken".
   */
  async create(
    ownerId: string,
    data: CreateOrganizationInput,
    idempotencyKey: string | null = null,
  ): Promise<Organization> {
    const clean = {
      description: '',
      ...profile(data),
      name: input.text(data.name, 'name', 100, { required: true }),
      slug: input.slug(data.slug),
      settings: { ...input.DEFAULT_SETTINGS },
    };
    return this.deps.idempotency
      .once<Organization>({
        principal: ownerId,
        key: idempotencyKey,
        operation: 'createOrganization',
        args: data,
        idOf: (organization) => organization.id,
        load: async (id) => (await this.repo.findByIds([id]))[0] ?? null,
        create: async (tx) => {
          const organization = await this.repo.createWithOwner({ ...clean, ownerId }, tx);
          await this.audit.record(tx, {
            organizationId: organization.id,
            type: 'organization.created',
            actorId: ownerId,
            subjectId: ownerId,
            metadata: { slug: organization.slug },
          });
          await announceOwner(tx, organization.id, ownerId);
          return organization;
        },
      })
      .catch((error: unknown) => {
        if (uniqueViolation(error)) throw conflict('This slug is taken', 'slug');
        throw error;
      });
  }

  /** Owners and admins (or a platform administrator). */
  async update(
    organizationId: string,
    actor: { userId: string; isPlatformAdmin: boolean },
    data: UpdateOrganizationInput,
  ): Promise<Organization> {
    const patch = profile(data);
    if (data.name != null) patch.name = input.text(data.name, 'name', 100, { required: true });
    return this.deps.lock.run(organizationId, async (tx, members, organization, affected) => {
      if (!actor.isPlatformAdmin && !isAdmin(members.find((m) => m.userId === actor.userId)))
        throw forbidden('Organization administrators only');
      const before = input.readSettings(organization.settings);
      if (data.settings != null) patch.settings = input.settingsPatch(before, data.settings);
      const updated = await this.repo.update(tx, organizationId, patch);
      const { settings, ...fields } = patch;
      if (Object.keys(fields).length > 0)
        await this.audit.record(tx, {
          organizationId,
          type: 'organization.updated',
          actorId: actor.userId,
          metadata: { fields: Object.keys(fields) },
        });
      if (settings) {
        const after = settings as input.OrganizationSettings;
        const changed = (Object.keys(after) as (keyof input.OrganizationSettings)[]).filter(
          (key) => JSON.stringify(after[key]) !== JSON.stringify(before[key]),
        );
        if (changed.length > 0)
          await this.audit.record(tx, {
            organizationId,
            type: 'settings.updated',
            actorId: actor.userId,
            metadata: Object.fromEntries(changed.map((key) => [key, { from: before[key], to: after[key] }])),
          });
        // The MFA policy is in every member's token: make them refresh.
        if (after.enforceMfa !== before.enforceMfa) for (const m of members) affected.add(m.userId);
      }
      return updated;
    });
  }

  /** Owners only; `confirmSlug` repeats the slug. Members lose access at once; the slug stays taken. */
  async delete(organizationId: string, actorId: string, confirmSlug: string): Promise<void> {
    await this.deps.lock.run(organizationId, async (tx, members, organization, affected) => {
      if (!isOwner(members.find((m) => m.userId === actorId))) throw forbidden('Only owners delete an organization');
      if (confirmSlug !== organization.slug)
        throw badUserInput('confirmSlug must repeat the organization slug', 'confirmSlug');
      await this.repo.softDelete(tx, organizationId);
      await this.deps.invitations.revokeOpenOfOrganization(tx, organizationId);
      await this.audit.record(tx, {
        organizationId,
        type: 'organization.deleted',
        actorId,
        metadata: { members: members.length },
      });
      for (const m of members) {
        await publishMembershipChange(tx, {
          organizationId,
          userId: m.userId,
          change: 'organization-deleted',
          roles: null,
        });
        affected.add(m.userId);
      }
    });
  }
}

/** The creator of an organization joined it as its owner (announced in the creating transaction). */
export async function announceOwner(tx: Tx, organizationId: string, ownerId: string): Promise<void> {
  await publishMembershipChange(tx, { organizationId, userId: ownerId, change: 'joined', roles: asOwner([]) });
}
