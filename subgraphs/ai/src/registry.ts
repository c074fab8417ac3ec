// The registry of the 16 AI services: one typed table, the facts of the original platform's gateway
// (roles, scopes, rate limit per caller per 15 minutes, upstream timeout, retries).
import { serviceScopes, type ServiceSlug } from '@g3d/auth';

export interface AiServiceEntry {
  slug: ServiceSlug;
  name: string;
  domain: string;
  /** Organization roles that may call it (`admin` always passes). */
  roles: readonly string[];
  scopes: { read: string; write: string };
  rateLimitPer15Min: number;
  timeoutMs: number;
  retries: number;
}

// Roles and scopes come from the RBAC model (packages/auth/src/rbac.ts), the one source of truth.
const entry = (
  slug: ServiceSlug,
  name: string,
  domain: string,
  rateLimitPer15Min: number,
  timeoutSeconds: number,
  retries: number,
): AiServiceEntry => {
  const access = serviceScopes(slug);
  return {
    slug,
    name,
    domain,
    roles: [access.role],
    scopes: { read: access.read, write: access.write },
    rateLimitPer15Min,
    timeoutMs: timeoutSeconds * 1000,
    retries,
  };
};

export const AI_SERVICES: readonly AiServiceEntry[] = [
  entry('vision-pro', 'Vision Pro', 'medical imaging', 500, 30, 3),
  entry('health-ai', 'Health AI', 'personal health intelligence', 300, 25, 3),
  entry('code-forge', 'Code Forge', 'code generation & analysis', 1000, 45, 2),
  entry('creative-studio', 'Creative Studio', 'content generation', 800, 60, 2),
  entry('mesh3d', 'Mesh3D', '3D generation', 200, 90, 2),
  entry('data-forge', 'Data Forge', 'data intelligence', 600, 120, 3),
  entry('automl', 'AutoML', 'automated machine learning', 100, 180, 2),
  entry('secure-ai', 'Secure AI', 'security operations', 2000, 15, 3),
  entry('legal-ai', 'Legal AI', 'legal assistant', 400, 30, 3),
  entry('chat-builder', 'Chat Builder', 'conversational AI', 1500, 20, 3),
  entry('video-ai', 'Video AI', 'video intelligence', 50, 300, 2),
  entry('voice-ai', 'Voice AI', 'voice intelligence', 800, 45, 3),
  entry('translate-ai', 'Translate AI', 'neural translation', 2000, 20, 3),
  entry('finance-ai', 'Finance AI', 'financial analysis', 600, 25, 3),
  entry('documind', 'DocuMind', 'document processing', 1000, 60, 3),
  entry('edge-ai', 'Edge AI', 'edge computing', 1200, 15, 3),
];

/** `vision-pro` → `visionPro`: the service's root field name. */
export function fieldName(slug: string): string {
  return slug.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** Subgraph name of a wrapper: `ai-vision-pro`. */
export function subgraphName(slug: string): string {
  return `ai-${slug}`;
}
