// The default plan catalogue (reference: the original platform's plans). Seeded once; operators edit the
// table afterwards. Free limits are the original defaults; the others scale them.
import type { Plan } from '@g3d/db';

const GB = 1024n ** 3n;

export const DEFAULT_PLANS: Omit<Plan, 'createdAt'>[] = [
  {
    id: 'free',
    name: 'Free',
    monthlyRequests: 1_000,
    storageBytes: 1n * GB,
    seats: 1,
    projects: 3,
    apiCalls: 10_000,
    includedServices: ['chat-builder', 'translate-ai'],
    sortOrder: 0,
  },
  {
    id: 'basic',
    name: 'Basic',
    monthlyRequests: 10_000,
    storageBytes: 10n * GB,
    seats: 5,
    projects: 10,
    apiCalls: 100_000,
    includedServices: ['chat-builder', 'translate-ai'],
    sortOrder: 1,
  },
  {
    id: 'professional',
    name: 'Professional',
    monthlyRequests: 100_000,
    storageBytes: 100n * GB,
    seats: 25,
    projects: 50,
    apiCalls: 1_000_000,
    includedServices: ['chat-builder', 'translate-ai'],
    sortOrder: 2,
  },
  {
    id: 'enterprise',
    name: 'Enterprise',
    monthlyRequests: null,
    storageBytes: null,
    seats: null,
    projects: null,
    apiCalls: null,
    includedServices: ['chat-builder', 'translate-ai'],
    sortOrder: 3,
  },
  {
    id: 'custom',
    name: 'Custom',
    monthlyRequests: null,
    storageBytes: null,
    seats: null,
    projects: null,
    apiCalls: null,
    includedServices: [],
    sortOrder: 4,
  },
];
