// When a user's roles in an organization change (or they leave, or an organization changes its MFA policy or
// disappears), their access tokens still carry the old roles and scopes. The moment is recorded in
// organization's table with the change (the record), and after the commit in the shared store (where the gateway
// reads it): the gateway refuses tokens issued before it (reason AUTHORIZATION_CHANGED); the client refreshes and
// identity issues a token with the new scopes. Both live as long as an access token can. A store that lost it
// is refilled from the table (securityStateEntries, run by the kit's security-state job).
import { authorizationChangedKey } from '@g3d/auth';
import type { PrismaClient, Tx } from '@g3d/db';
import type { SecurityStateEntry } from '@g3d/kit';
import type { Store } from '@g3d/store';

export class AuthorizationChanges {
  constructor(
    private readonly store: Store,
    private readonly accessTokenTtlSeconds: number,
    private readonly prisma?: PrismaClient,
  ) {}

  private get ttlMs() {
    return (this.accessTokenTtlSeconds + 60) * 1000;
  }

  /** Records the change with the transaction that makes it (returns the moment, for `mark`). */
  async record(tx: Tx, userIds: Iterable<string>, at = new Date()): Promise<Date> {
    for (const userId of new Set(userIds)) {
      await tx.authorizationChange.upsert({
        where: { userId },
        create: { userId, changedAt: at },
        update: { changedAt: at },
      });
    }
    return at;
  }

  /** After the commit: tells the gateway, through the store. */
  async mark(userIds: Iterable<string>, at = new Date()): Promise<void> {
    const value = String(at.getTime());
    await Promise.all(
      [...new Set(userIds)].map((id) => this.store.set(authorizationChangedKey(id), value, { ttlMs: this.ttlMs })),
    );
  }

  /** Records and marks a change made outside an organization transaction. */
  async recordAndMark(userIds: Iterable<string>): Promise<void> {
    const ids = [...new Set(userIds)];
    if (!this.prisma) throw new Error('AuthorizationChanges needs the database to record changes');
    const at = await this.prisma.$transaction((tx) => this.record(tx, ids));
    await this.mark(ids, at);
  }

  /** The changes an access token may still predate, as store entries (the security-state job's load). */
  async securityStateEntries(): Promise<SecurityStateEntry[]> {
    if (!this.prisma) return [];
    const since = new Date(Date.now() - this.ttlMs);
    const rows = await this.prisma.authorizationChange.findMany({ where: { changedAt: { gt: since } } });
    // Older rows can no longer matter: prune them here, where they are read.
    await this.prisma.authorizationChange.deleteMany({ where: { changedAt: { lte: since } } });
    return rows.map((row) => ({
      key: authorizationChangedKey(row.userId),
      value: String(row.changedAt.getTime()),
      ttlMs: row.changedAt.getTime() + this.ttlMs - Date.now(),
    }));
  }
}
