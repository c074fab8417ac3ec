// API keys for machine clients: `g3d_<prefix>_<secret>`. The prefix (48 random bits, hex) finds the row; the
// secret (256 bits) is stored as SHA-256 and compared in constant time. A key acts with its own scopes only
// (never its creator's platform roles), in the organization it was created in only, and is refused once revoked
// or expired. What a key may read with which scope: README, Security model.
import { randomBytes } from 'node:crypto';

import {
  type Caller,
  type ClientInfo,
  equalHashes,
  randomSecret,
  revokedApiKeyKey,
  scopesForRoles,
  sha256,
  type VerifiedApiKey,
} from '@g3d/auth';
import type { PrismaClient } from '@g3d/db';
import { AppError, badUserInput } from '@g3d/errors';
import { isUuid } from '@g3d/kit';
import type { Store } from '@g3d/store';

import type { AuditLog } from '../audit/audit.service.ts';
import type { OrganizationDirectory } from '../auth/organization-directory.ts';
import { cleanName } from '../shared/input.ts';

const KEY_FORMAT = /^g3d_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const MAX_KEYS_PER_USER = 50;
const MAX_LIFETIME_MS = 366 * 24 * 3600_000;
const SCOPE_FORMAT = /^[a-z0-9-]+:[a-z0-9-]+$/;

export class ApiKeysService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly organizations: OrganizationDirectory,
  ) {}

  async create(
    caller: Caller,
    input: { name: string; scopes?: string[] | null; expiresAt?: Date | null },
    client: ClientInfo,
  ) {
    const userId = caller.userId as string;
    const name = cleanName(input.name, 'name', { required: true });
    const scopes = [...new Set(input.scopes ?? [])];
    if (scopes.length > 100) throw badUserInput('Too many scopes', 'scopes');
    for (const scope of scopes) {
      if (!SCOPE_FORMAT.test(scope)) throw badUserInput(`Invalid scope: ${scope.slice(0, 64)}`, 'scopes');
      // A key can never do more than the person creating it.
      if (!caller.scopes.includes(scope)) {
        throw new AppError(
          'FORBIDDEN',
          `You do not hold the scope ${scope.slice(0, 64)} in your current organization (a key acts in the ` +
            'organization of the token creating it: switchOrganization(organizationId) first for another)',
          { reason: 'MISSING_SCOPE', scope: scope.slice(0, 64) },
        );
      }
    }
    if (input.expiresAt) {
      const at = input.expiresAt.getTime();
      if (at <= Date.now()) throw badUserInput('expiresAt must be in the future', 'expiresAt');
      if (at > Date.now() + MAX_LIFETIME_MS) throw badUserInput('expiresAt must be within a year', 'expiresAt');
    }
    if ((await this.prisma.apiKey.count({ where: { userId, revokedAt: null } })) >= MAX_KEYS_PER_USER) {
      throw badUserInput(`At most ${MAX_KEYS_PER_USER} active keys per user`, 'name');
    }
    const prefix = randomBytes(6).toString('hex');
    const secret = randomSecret();
    const apiKey = await this.prisma.apiKey.create({
      data: {
        userId,
        organizationId: caller.organizationId,
        name,
        prefix,
        secretHash: sha256(secret),
        scopes,
        expiresAt: input.expiresAt ?? null,
      },
    });
    await this.audit.record({
      type: 'api_key.created',
      userId,
      client,
      metadata: { apiKeyId: apiKey.id, prefix, scopes },
    });
    return { apiKey, secret: `g3d_${prefix}_${secret}` };
  }

  /**
   * The gateway caches verified keys for 30 s; this flag in the store makes revocation immediate. A day is
   * far longer than any cache entry.
   */
  async flagRevoked(ids: string[]): Promise<void> {
    await Promise.all(ids.map((id) => this.store.set(revokedApiKeyKey(id), '1', { ttlMs: 24 * 3600_000 })));
  }

  list(userId: string) {
    return this.prisma.apiKey.findMany({ where: { userId }, orderBy: { createdAt: 'desc' } });
  }

  async revoke(userId: string, id: string, client: ClientInfo) {
    const key = isUuid(id) ? await this.prisma.apiKey.findFirst({ where: { id, userId } }) : null;
    if (!key) throw badUserInput('No such API key', 'id');
    if (key.revokedAt) return key;
    const revoked = await this.prisma.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
    await this.flagRevoked([id]);
    await this.audit.record({ type: 'api_key.revoked', userId, client, metadata: { apiKeyId: id } });
    return revoked;
  }

  /** The gateway's question: which caller does this key stand for? Null when invalid, revoked or expired. */
  async verify(rawKey: string): Promise<VerifiedApiKey | null> {
    const match = KEY_FORMAT.exec(rawKey);
    if (!match) return null;
    const [, prefix, secret] = match as unknown as [string, string, string];
    const key = await this.prisma.apiKey.findUnique({
      where: { prefix },
      include: { user: { select: { erasedAt: true, mfaEnabled: true } } },
    });
    if (!key || !equalHashes(key.secretHash, sha256(secret))) return null;
    if (key.revokedAt || key.user.erasedAt || (key.expiresAt && key.expiresAt.getTime() <= Date.now())) return null;
    // lastUsedAt at minute resolution: one write per key per minute, not per request.
    if (!key.lastUsedAt || Date.now() - key.lastUsedAt.getTime() > 60_000) {
      await this.prisma.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: new Date() } });
    }
    // A key never does more than its owner may do now: its scopes meet the owner's current ones in the key's
    // organization (none when they have left it), and it acts in that organization only (organizationId). When
    // the organization enforces MFA and the owner has none, every subgraph refuses the key (MFA_REQUIRED).
    const membership = key.organizationId
      ? (await this.organizations.membershipsOf(key.userId)).find((m) => m.organizationId === key.organizationId)
      : undefined;
    const held = scopesForRoles(membership?.roles ?? []);
    const scopes = key.scopes.filter((s) => held.includes(s));
    return {
      apiKeyId: key.id,
      caller: {
        kind: 'apiKey',
        userId: key.userId,
        sessionId: null,
        organizationId: key.organizationId,
        roles: [],
        scopes,
        email: null,
        mfaSetupRequired: (membership?.enforceMfa ?? false) && !key.user.mfaEnabled,
        apiKeyId: key.id,
      },
    };
  }
}
