// POST /internal/api-keys/verify: the gateway asks which caller an API key stands for (gateway-signed
// requests only; the contract names the gateway as the one caller).
import { apiKeyVerificationContract } from '@g3d/contracts';
import { internalRoute } from '@g3d/kit';

import type { ApiKeysService } from './api-keys.service.ts';

export function apiKeyVerifyRoute(apiKeys: ApiKeysService) {
  return internalRoute(apiKeyVerificationContract, async ({ key }) => {
    const verified = await apiKeys.verify(key);
    return verified ? { valid: true as const, ...verified } : { valid: false as const };
  });
}
