// The first platform administrator (the all-in-one start and the migrate job), created only when there are no
// users yet.
import type { Database } from '@g3d/db';
import { normalizeEmail } from '@g3d/kit';

import { hashPassword } from '../auth/passwords.ts';
import { UsersRepository } from './users.repository.ts';

export async function seedFirstAdmin(
  db: Database,
  admin: { email: string; password: string },
): Promise<{ created: boolean; userId: string | null }> {
  const users = new UsersRepository(db.prisma);
  if ((await users.count()) > 0) return { created: false, userId: null };
  const now = new Date();
  const user = await users.create({
    email: normalizeEmail(admin.email),
    passwordHash: await hashPassword(admin.password),
    displayName: 'Administrator',
    roles: ['user', 'admin', 'super_admin'],
    emailVerified: true,
    emailVerifiedAt: now,
    termsAcceptedAt: now,
    privacyAcceptedAt: now,
  });
  return { created: true, userId: user.id };
}
