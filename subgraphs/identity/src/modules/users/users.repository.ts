// The only place identity's users table is touched. Credential reads (password hash, MFA secret) are kept
// apart from ordinary reads so a resolver can never select them by accident.
import { type Database, type Db, Prisma, type PrismaClient } from '@g3d/db';

export const publicColumns = {
  id: true,
  email: true,
  firstName: true,
  lastName: true,
  displayName: true,
  emailVerified: true,
  roles: true,
  mfaEnabled: true,
  lastLoginAt: true,
  preferences: true,
  gdprConsent: true,
  gdprConsentAt: true,
  ccpaOptOut: true,
  ccpaOptOutAt: true,
  termsAcceptedAt: true,
  privacyAcceptedAt: true,
  erasedAt: true,
  createdAt: true,
} as const satisfies Prisma.UserSelect;

export type UserRecord = Prisma.UserGetPayload<{ select: typeof publicColumns }>;

const credentialColumns = { ...publicColumns, passwordHash: true, mfaSecret: true, mfaLastTimeStep: true } as const;
export type UserCredentials = Prisma.UserGetPayload<{ select: typeof credentialColumns }>;

export class UsersRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Live (not erased) users by id. */
  findByIds(ids: readonly string[]): Promise<UserRecord[]> {
    return this.prisma.user.findMany({ where: { id: { in: [...ids] }, erasedAt: null }, select: publicColumns });
  }

  findById(id: string): Promise<UserRecord | null> {
    return this.prisma.user.findFirst({ where: { id, erasedAt: null }, select: publicColumns });
  }

  findByEmail(email: string): Promise<UserRecord | null> {
    return this.prisma.user.findFirst({ where: { email, erasedAt: null }, select: publicColumns });
  }

  count(): Promise<number> {
    return this.prisma.user.count();
  }

  create(data: Prisma.UserCreateInput, db: Db = this.prisma): Promise<UserRecord> {
    return db.user.create({ data, select: publicColumns });
  }

  update(id: string, data: Prisma.UserUpdateInput, db: Db = this.prisma): Promise<UserRecord> {
    return db.user.update({ where: { id }, data, select: publicColumns });
  }
}

/** Reads and writes credentials. Used by login, password and MFA flows only. */
export class CredentialsRepository {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly query: Database['query'],
  ) {}

  /**
   * Every login reads this: raw SQL (the columns of `credentialColumns`, renamed to their fields) straight on
   * the pool skips Prisma's query planning and result mapping on the hot path.
   */
  async findByEmail(email: string): Promise<UserCredentials | null> {
    const { rows } = await this.query<Omit<UserCredentials, 'mfaLastTimeStep'> & { mfaLastTimeStep: string | null }>(
      Prisma.sql`
      SELECT "id", "email", "first_name" AS "firstName", "last_name" AS "lastName", "display_name" AS "displayName",
        "email_verified" AS "emailVerified", "roles", "mfa_enabled" AS "mfaEnabled", "last_login_at" AS "lastLoginAt",
        "preferences", "gdpr_consent" AS "gdprConsent", "gdpr_consent_at" AS "gdprConsentAt",
        "ccpa_opt_out" AS "ccpaOptOut", "ccpa_opt_out_at" AS "ccpaOptOutAt", "terms_accepted_at" AS "termsAcceptedAt",
        "privacy_accepted_at" AS "privacyAcceptedAt", "erased_at" AS "erasedAt", "created_at" AS "createdAt",
        "password_hash" AS "passwordHash", "mfa_secret" AS "mfaSecret", "mfa_last_time_step" AS "mfaLastTimeStep"
      FROM "identity"."users" WHERE "email" = ${email} AND "erased_at" IS NULL`,
    );
    const row = rows[0];
    // pg reads bigint as a string; Prisma's type (and $queryRaw) has a BigInt.
    return row ? { ...row, mfaLastTimeStep: row.mfaLastTimeStep === null ? null : BigInt(row.mfaLastTimeStep) } : null;
  }

  findById(id: string): Promise<UserCredentials | null> {
    return this.prisma.user.findFirst({ where: { id, erasedAt: null }, select: credentialColumns });
  }

  setPasswordHash(id: string, passwordHash: string, db: Db = this.prisma) {
    return db.user.update({ where: { id }, data: { passwordHash, passwordChangedAt: new Date() } });
  }

  /**
   * Records a TOTP time step as used, only if it is newer than the last one: atomic, so two concurrent
   * requests with the same code cannot both pass. False means replay.
   */
  async claimTimeStep(id: string, timeStep: number): Promise<boolean> {
    const claimed = await this.prisma.$executeRaw`
      UPDATE "identity"."users" SET "mfa_last_time_step" = ${BigInt(timeStep)}
      WHERE "id" = ${id}::uuid AND ("mfa_last_time_step" IS NULL OR "mfa_last_time_step" < ${BigInt(timeStep)})`;
    return claimed === 1;
  }
}
