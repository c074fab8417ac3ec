// Identity's security state in the store, refilled from its tables when the store comes back empty (the kit's
// security-state job): sessions revoked while an access token of theirs may still be alive, API keys revoked
// within the day their revocation flag lives, and the locks of secret checks still in force.
import { revokedApiKeyKey, revokedSessionKey } from '@g3d/auth';
import type { PrismaClient } from '@g3d/db';
import type { SecurityStateEntry } from '@g3d/kit';

/** How long a revoked API key's flag lives in the store (the gateway caches key verifications for 30 s). */
export const API_KEY_REVOCATION_FLAG_MS = 24 * 3600_000;

export async function identitySecurityState(
  prisma: PrismaClient,
  accessTokenTtlSeconds: number,
): Promise<SecurityStateEntry[]> {
  const now = Date.now();
  const sessionWindowMs = (accessTokenTtlSeconds + 60) * 1000;
  // Expired locks can no longer matter: prune them here, where the rest is read.
  await prisma.securityLock.deleteMany({ where: { lockedUntil: { lte: new Date(now) } } });
  const [sessions, keys, locks] = await Promise.all([
    prisma.session.findMany({
      where: { revokedAt: { gt: new Date(now - sessionWindowMs) } },
      select: { id: true, revokedAt: true },
    }),
    prisma.apiKey.findMany({
      where: { revokedAt: { gt: new Date(now - API_KEY_REVOCATION_FLAG_MS) } },
      select: { id: true, revokedAt: true },
    }),
    prisma.securityLock.findMany(),
  ]);
  return [
    ...sessions.map((s) => ({
      key: revokedSessionKey(s.id),
      value: '1',
      ttlMs: (s.revokedAt?.getTime() ?? now) + sessionWindowMs - now,
    })),
    ...keys.map((k) => ({
      key: revokedApiKeyKey(k.id),
      value: '1',
      ttlMs: (k.revokedAt?.getTime() ?? now) + API_KEY_REVOCATION_FLAG_MS - now,
    })),
    // Locks of secret checks (logins, devices, second factors, current-password checks).
    ...locks.map((lock) => ({ key: lock.key, value: '1', ttlMs: lock.lockedUntil.getTime() - now })),
  ];
}
