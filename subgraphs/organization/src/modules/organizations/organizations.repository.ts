// Organization rows. Reads outside a change see live (not deleted) organizations only; changes lock the row
// first (organization-lock.ts).
import type { Db, Organization, Prisma, PrismaClient, Tx } from '@g3d/db';

import { asOwner } from '../memberships/roles.ts';

export class OrganizationsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Live (not deleted) organizations. */
  findByIds(ids: readonly string[]): Promise<Organization[]> {
    return this.prisma.organization.findMany({ where: { id: { in: [...ids] }, deletedAt: null } });
  }

  findBySlug(slug: string): Promise<Organization | null> {
    return this.prisma.organization.findFirst({ where: { slug, deletedAt: null } });
  }

  count(): Promise<number> {
    return this.prisma.organization.count();
  }

  /**
   * Locks an organization's row for the rest of `tx` and reads it; null when there is none (or, unless
   * `includeDeleted`, when it is deleted).
   */
  async lock(tx: Tx, id: string, options: { includeDeleted?: boolean } = {}): Promise<Organization | null> {
    const [row] = options.includeDeleted
      ? await tx.$queryRaw<{ id: string }[]>`
          SELECT "id" FROM "organization"."organizations" WHERE "id" = ${id}::uuid FOR UPDATE`
      : await tx.$queryRaw<{ id: string }[]>`
          SELECT "id" FROM "organization"."organizations"
          WHERE "id" = ${id}::uuid AND "deleted_at" IS NULL FOR UPDATE`;
    return row ? tx.organization.findUniqueOrThrow({ where: { id } }) : null;
  }

  /** Creates an organization and its owner's membership in one statement (nested create: atomic). */
  createWithOwner(
    data: Omit<Prisma.OrganizationCreateInput, 'memberships'> & { ownerId: string },
    db: Db = this.prisma,
  ): Promise<Organization> {
    const { ownerId, ...organization } = data;
    return db.organization.create({
      data: { ...organization, memberships: { create: { userId: ownerId, roles: asOwner([]) } } },
    });
  }

  update(db: Db, id: string, data: Prisma.OrganizationUpdateInput): Promise<Organization> {
    return db.organization.update({ where: { id }, data });
  }

  /** Soft delete: members lose access at once; the row (and its slug) stays. */
  async softDelete(db: Db, id: string): Promise<void> {
    await db.organization.update({ where: { id }, data: { deletedAt: new Date() } });
  }
}
