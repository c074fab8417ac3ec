// Membership rows: the per-request reads (batched by the DataLoaders), the per-login lookup for identity, and
// the writes of locked changes (organization-lock.ts).
import { type Database, type Db, type Membership, Prisma, type PrismaClient } from '@g3d/db';

/** Where a member sits in Organization.members (oldest first): an opaque cursor for the next page. */
export function memberCursor(m: Pick<Membership, 'createdAt' | 'id'>): string {
  return Buffer.from(`${m.createdAt.toISOString()}|${m.id}`).toString('base64url');
}

/** The position a cursor names, or null when it is not one of ours. */
export function parseMemberCursor(cursor: string): { createdAt: Date; id: string } | null {
  if (cursor.length > 200) return null;
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (!id || Number.isNaN(createdAt.getTime()) || !/^[0-9a-f-]{36}$/.test(id)) return null;
  return { createdAt, id };
}

interface MembershipRow {
  id: string;
  organization_id: string;
  user_id: string;
  roles: string[];
  created_at: Date;
}

const fromRow = (r: MembershipRow): Membership => ({
  id: r.id,
  organizationId: r.organization_id,
  userId: r.user_id,
  roles: r.roles,
  createdAt: r.created_at,
});

/** What identity puts in a token, per membership (the /internal/memberships answer). */
export interface TokenMembership {
  userId: string;
  organizationId: string;
  roles: string[];
  enforceMfa: boolean;
}

const OLDEST_FIRST = [{ createdAt: 'asc' as const }, { id: 'asc' as const }];

export class MembershipsRepository {
  constructor(
    private readonly prisma: PrismaClient,
    /** Raw statements on the pool: the per-login lookup. */
    private readonly query: Database['query'],
  ) {}

  /**
   * The live memberships of users with their organization's MFA policy, oldest first: one statement on the pool
   * (it runs at every login, refresh and token switch).
   */
  async membershipsForTokens(userIds: readonly string[]): Promise<TokenMembership[]> {
    const { rows } = await this.query<{
      user_id: string;
      organization_id: string;
      roles: string[];
      enforce_mfa: boolean;
    }>(
      Prisma.sql`
        SELECT m."user_id", m."organization_id", m."roles",
               COALESCE((o."settings"->>'enforceMfa')::boolean, false) AS "enforce_mfa"
        FROM "organization"."memberships" m
        JOIN "organization"."organizations" o ON o."id" = m."organization_id" AND o."deleted_at" IS NULL
        WHERE m."user_id" = ANY(${[...userIds]}::uuid[])
        ORDER BY m."created_at", m."id"`,
    );
    return rows.map((r) => ({
      userId: r.user_id,
      organizationId: r.organization_id,
      roles: r.roles,
      enforceMfa: r.enforce_mfa,
    }));
  }

  /** Memberships of users in live organizations, oldest first. */
  membershipsOfUsers(userIds: readonly string[]): Promise<Membership[]> {
    return this.prisma.membership.findMany({
      where: { userId: { in: [...userIds] }, organization: { deletedAt: null } },
      orderBy: OLDEST_FIRST,
    });
  }

  /**
   * The first `first` members of each organization, oldest first, in one statement for any number of
   * organizations (a window per organization: no N+1, and a 1,000-member organization never loads whole).
   */
  async firstMembers(organizationIds: readonly string[], first: number): Promise<Membership[]> {
    const rows = await this.prisma.$queryRaw<MembershipRow[]>`
      SELECT "id", "organization_id", "user_id", "roles", "created_at" FROM (
        SELECT m.*, row_number() OVER (PARTITION BY "organization_id" ORDER BY "created_at", "id") AS "position"
        FROM "organization"."memberships" m WHERE "organization_id" = ANY(${[...organizationIds]}::uuid[])
      ) ranked WHERE "position" <= ${first} ORDER BY "organization_id", "created_at", "id"`;
    return rows.map(fromRow);
  }

  /** The members after a cursor position (one organization: a later page). */
  membersAfter(organizationId: string, after: { createdAt: Date; id: string }, first: number): Promise<Membership[]> {
    return this.prisma.membership.findMany({
      where: {
        organizationId,
        OR: [{ createdAt: { gt: after.createdAt } }, { createdAt: after.createdAt, id: { gt: after.id } }],
      },
      orderBy: OLDEST_FIRST,
      take: first,
    });
  }

  async memberCounts(organizationIds: readonly string[]): Promise<{ organizationId: string; count: number }[]> {
    const groups = await this.prisma.membership.groupBy({
      by: ['organizationId'],
      where: { organizationId: { in: [...organizationIds] } },
      _count: { _all: true },
    });
    return groups.map((g) => ({ organizationId: g.organizationId, count: g._count._all }));
  }

  async isMember(organizationId: string, userId: string): Promise<boolean> {
    const found = await this.prisma.membership.findUnique({
      where: { organizationId_userId: { organizationId, userId } },
      select: { id: true },
    });
    return found !== null;
  }

  /** Every member of one organization, oldest first (inside a locked change). */
  ofOrganization(db: Db, organizationId: string): Promise<Membership[]> {
    return db.membership.findMany({ where: { organizationId }, orderBy: OLDEST_FIRST });
  }

  /** Every membership of a user, deleted organizations included (erasure). */
  ofUser(db: Db, userId: string): Promise<Membership[]> {
    return db.membership.findMany({ where: { userId }, orderBy: OLDEST_FIRST });
  }

  create(db: Db, data: { organizationId: string; userId: string; roles: string[] }): Promise<Membership> {
    return db.membership.create({ data });
  }

  setRoles(db: Db, id: string, roles: string[]): Promise<Membership> {
    return db.membership.update({ where: { id }, data: { roles } });
  }

  async delete(db: Db, id: string): Promise<void> {
    await db.membership.delete({ where: { id } });
  }
}
