// API keys at the edge: the gateway asks identity (POST /internal/api-keys/verify, gateway-signed) which
// caller a key stands for, and caches the answer briefly. Revocation is checked in the shared store on every
// request, so a revoked key stops working at once despite the cache.
import { createHash } from 'node:crypto';

import { ANONYMOUS, GATEWAY_TOKEN_HEADER, signGatewayToken, type SigningKey, type VerifiedApiKey } from '@g3d/auth';

const CACHE_TTL_MS = 30_000;
const CACHE_MAX = 10_000;

/** identity's answer, and when it was given (epoch ms). */
export type CachedApiKey = VerifiedApiKey & { verifiedAt: number };

export type ApiKeyVerifier = (
  key: string,
  requestId: string,
  options?: { fresh?: boolean },
) => Promise<CachedApiKey | null>;

export function createApiKeyVerifier(identityGraphqlUrl: string, signingKey: SigningKey): ApiKeyVerifier {
  const url = new URL('/internal/api-keys/verify', identityGraphqlUrl);
  const cache = new Map<string, { value: CachedApiKey; expiresAt: number }>();
  return async (key, requestId, options = {}) => {
    const id = createHash('sha256').update(key).digest('hex');
    const hit = cache.get(id);
    if (hit && hit.expiresAt > Date.now() && !options.fresh) return hit.value;
    const verifiedAt = Date.now();
    const token = await signGatewayToken(signingKey, 'identity', { caller: ANONYMOUS, requestId });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [GATEWAY_TOKEN_HEADER]: token, 'x-request-id': requestId },
      body: JSON.stringify({ key }),
      signal: AbortSignal.timeout(5_000),
    });
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok) throw new Error(`identity answered ${response.status}`);
    const value: CachedApiKey = { ...((await response.json()) as VerifiedApiKey), verifiedAt };
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(id, { value, expiresAt: Date.now() + CACHE_TTL_MS });
    return value;
  };
}
