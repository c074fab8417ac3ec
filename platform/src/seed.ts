// First-run seed (the all-in-one start and the migrate job): the plan catalogue, the first platform
// administrator and the first organization, each only when missing.
import crypto from 'node:crypto';

import type { Database } from '@g3d/db';
import { seedPlans } from '@g3d/entitlement';
import { seedFirstAdmin } from '@g3d/identity';
import { seedFirstOrganization } from '@g3d/organization';

import type { PlatformConfig } from './config.ts';

export interface SeededAdmin {
  email: string;
  password: string;
  /** The password was generated (and must be printed once). */
  generated: boolean;
}

export async function seedPlatform(config: PlatformConfig, db: Database): Promise<SeededAdmin | null> {
  await seedPlans(db);
  const generated = !config.ADMIN_PASSWORD;
  // 18 random bytes → 24 base64url characters: never a default password.
  const password = config.ADMIN_PASSWORD ?? crypto.randomBytes(18).toString('base64url');
  const admin = await seedFirstAdmin(db, { email: config.ADMIN_EMAIL, password });
  if (!admin.created || !admin.userId) return null;
  await seedFirstOrganization(db, admin.userId);
  return { email: config.ADMIN_EMAIL, password, generated };
}
