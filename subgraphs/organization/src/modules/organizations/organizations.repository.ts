// The only place organization's tables are touched.
import type { Membership, Organization, Prisma, PrismaClient } from '@g3d/db';

export class OrganizationsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Live (not deleted) organizations. */
  findByIds(ids: readonly string[]): Promise<Organization[]> {
    return this.prisma.organization.findMany({ where: { id: { in: [...ids] }, deletedAt: null } });
  }

  findBySlug(slug: string): Promise<Organization | null> {
    return this.prisma.organization.findFirst({ where: { slug, deletedAt: null } });
  }

  update(id: string, data: Prisma.OrganizationUpdateInput): Promise<Organization> {
    return this.prisma.organization.update({ where: { id }, data });
  }

  membershipsOfUsers(userIds: readonly string[]): Promise<Membership[]> {
    return this.prisma.membership.findMany({ where: { userId: { in: [...userIds] } }, orderBy: { createdAt: 'asc' } });
  }

  membershipsOfOrganizations(organizationIds: readonly string[]): Promise<Membership[]> {
    return this.prisma.membership.findMany({
      where: { organizationId: { in: [...organizationIds] } },
      orderBy: { createdAt: 'asc' },
    });
  }

  count(): Promise<number> {
    return this.prisma.organization.count();
  }

  /** Creates an organization and its owner's membership in one statement (nested create: atomic). */
  createWithOwner(
    data: Omit<Prisma.OrganizationCreateInput, 'memberships'> & { ownerId: string },
  ): Promise<Organization> {
    const { ownerId, ...organization } = data;
    return this.prisma.organization.create({
      data: { ...organization, memberships: { create: { userId: ownerId, roles: ['owner', 'admin'] } } },
    });
  }
}
