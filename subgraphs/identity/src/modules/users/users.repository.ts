// The only place identity's user table is touched. Credential reads (password hashes) are kept apart from
// ordinary reads so a resolver can never select a hash by accident.
import type { PrismaClient } from '@g3d/db';

const publicColumns = {
  id: true,
  email: true,
  firstName: true,
  lastName: true,
  displayName: true,
  emailVerified: true,
  roles: true,
  createdAt: true,
} as const;

export type UserRecord = {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  displayName: string;
  emailVerified: boolean;
  roles: string[];
  createdAt: Date;
};

export class UsersRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async findByIds(ids: readonly string[]): Promise<UserRecord[]> {
    return this.prisma.user.findMany({ where: { id: { in: [...ids] } }, select: publicColumns });
  }

  async count(): Promise<number> {
    return this.prisma.user.count();
  }

  async create(data: {
    email: string;
    passwordHash: string;
    displayName: string;
    roles: string[];
    emailVerified: boolean;
  }): Promise<UserRecord> {
    return this.prisma.user.create({ data, select: publicColumns });
  }
}

/** Reads credentials. Used by login only. */
export class CredentialsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async findByEmail(email: string): Promise<(UserRecord & { passwordHash: string }) | null> {
    return this.prisma.user.findUnique({ where: { email }, select: { ...publicColumns, passwordHash: true } });
  }
}
