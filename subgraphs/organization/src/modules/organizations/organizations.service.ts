// Creating and updating organizations. Input is validated whole before any write; slug uniqueness is the
// database's (a concurrent duplicate gets CONFLICT, never a 500).
import type { Organization } from '@g3d/db';
import { conflict } from '@g3d/errors';
import { normalizeEmail } from '@g3d/kit';

import * as input from './organization-input.ts';
import type { OrganizationsRepository } from './organizations.repository.ts';

export interface CreateOrganizationInput {
  name: string;
  slug: string;
  description?: string | null;
  website?: string | null;
  industry?: string | null;
  size?: string | null;
  billingEmail?: string | null;
}

export interface UpdateOrganizationInput {
  name?: string | null;
  description?: string | null;
  website?: string | null;
  industry?: string | null;
  size?: string | null;
  billingEmail?: string | null;
  settings?: Partial<Record<keyof input.OrganizationSettings, unknown>> | null;
}

const uniqueViolation = (error: unknown) => (error as { code?: string }).code === 'P2002';

export class OrganizationsService {
  constructor(private readonly repo: OrganizationsRepository) {}

  async create(ownerId: string, data: CreateOrganizationInput): Promise<Organization> {
    const clean = {
      name: input.text(data.name, 'name', 100, { required: true }),
      slug: input.slug(data.slug),
      description: input.text(data.description ?? '', 'description', 2000),
      website: data.website ? input.website(data.website) || null : null,
      industry: data.industry ? input.text(data.industry, 'industry', 100) || null : null,
      size: data.size ?? null,
      billingEmail: data.billingEmail ? normalizeEmail(data.billingEmail, 'billingEmail') : null,
      settings: { ...input.DEFAULT_SETTINGS },
    };
    return this.repo.createWithOwner({ ...clean, ownerId }).catch((error: unknown) => {
      if (uniqueViolation(error)) throw conflict('This slug is taken', 'slug');
      throw error;
    });
  }

  async update(organization: Organization, data: UpdateOrganizationInput): Promise<Organization> {
    const patch: Record<string, unknown> = {};
    if (data.name != null) patch.name = input.text(data.name, 'name', 100, { required: true });
    if (data.description != null) patch.description = input.text(data.description, 'description', 2000);
    if (data.website != null) patch.website = input.website(data.website) || null;
    if (data.industry != null) patch.industry = input.text(data.industry, 'industry', 100) || null;
    if (data.size != null) patch.size = data.size;
    if (data.billingEmail != null)
      patch.billingEmail = data.billingEmail === '' ? null : normalizeEmail(data.billingEmail, 'billingEmail');
    if (data.settings != null)
      patch.settings = input.settingsPatch(input.readSettings(organization.settings), data.settings);
    return this.repo.update(organization.id, patch);
  }
}
