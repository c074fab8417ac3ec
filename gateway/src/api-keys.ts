// API keys at the edge: the gateway asks identity (POST /internal/api-keys/verify, apiKeyVerificationContract,
// gateway-signed) which caller a key stands for, and caches the answer briefly. Revocation is checked in the
// shared store on every request, so a revoked key stops working at once despite the cache.
import { createHash } from 'node:crypto';

import { ANONYMOUS, GATEWAY_TOKEN_HEADER, signGatewayToken, type SigningKey, type VerifiedApiKey } from '@g3d/auth';
import { apiKeyVerificationContract } from '@g3d/contracts';
import { createInternalClient, type Logger } from '@g3d/kit';

const CACHE_TTL_MS = 30_000;
const CACHE_MAX = 10_000;

/** identity's answer, and when it was given (epoch ms). */
export type CachedApiKey = VerifiedApiKey & { verifiedAt: number };

/**
 * The caller of a key, or null when identity says it is invalid (unknown, revoked, expired). Throws when
 * identity cannot answer (the request is then refused with 503, never let through as anonymous).
 */
export interface ApiKeyVerifier {
  verify(key: string, requestId: string, options?: { fresh?: boolean }): Promise<CachedApiKey | null>;
  /** Ends the keep-alive connections to identity (gateway stop). */
  close(): void;
}

export function createApiKeyVerifier(identityUrl: string, signingKey: SigningKey, logger: Logger): ApiKeyVerifier {
  const identity = createInternalClient({
    self: 'gateway',
    target: 'identity',
    url: identityUrl,
    headers: async (requestId) => ({
      [GATEWAY_TOKEN_HEADER]: await signGatewayToken(signingKey, 'identity', { caller: ANONYMOUS, requestId }),
    }),
    logger,
  });
  const cache = new Map<string, { value: CachedApiKey; expiresAt: number }>();
  const verify: ApiKeyVerifier['verify'] = async (key, requestId, options = {}) => {
    const id = createHash('sha256').update(key).digest('hex');
    const hit = cache.get(id);
    if (hit && hit.expiresAt > Date.now() && !options.fresh) return hit.value;
    const verifiedAt = Date.now();
    const answer = await identity.call(apiKeyVerificationContract, { key }, requestId);
    if (!answer.valid) return null;
    const value: CachedApiKey = { apiKeyId: answer.apiKeyId, caller: answer.caller, verifiedAt };
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(id, { value, expiresAt: Date.now() + CACHE_TTL_MS });
    return value;
  };
  return { verify, close: () => identity.close() };
}
