// The only place organization's tables are touched.
import type { Membership, Organization, PrismaClient } from '@g3d/db';

export class OrganizationsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  findByIds(ids: readonly string[]): Promise<Organization[]> {
    return this.prisma.organization.findMany({ where: { id: { in: [...ids] } } });
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

  /** Creates an organization and its owner's membership in one transaction. */
  createWithOwner(data: { name: string; slug: string; ownerId: string }): Promise<Organization> {
    return this.prisma.organization.create({
      data: {
        name: data.name,
        slug: data.slug,
        memberships: { create: { userId: data.ownerId, roles: ['owner', 'admin'] } },
      },
    });
  }
}
