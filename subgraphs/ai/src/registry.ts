// The registry of the 16 AI services: one typed table, the facts of the original platform's gateway
// (roles, scopes, rate limit per caller per 15 minutes, upstream timeout, retries).
export interface AiServiceEntry {
  slug: string;
  name: string;
  domain: string;
  /** Organization roles that may call it (`admin` always passes). */
  roles: readonly string[];
  scopes: { read: string; write: string };
  rateLimitPer15Min: number;
  timeoutMs: number;
  retries: number;
}

const entry = (
  slug: string,
  name: string,
  domain: string,
  role: string,
  scope: string,
  rateLimitPer15Min: number,
  timeoutSeconds: number,
  retries: number,
): AiServiceEntry => ({
  slug,
  name,
  domain,
  roles: [role],
  scopes: { read: `${scope}:read`, write: `${scope}:write` },
  rateLimitPer15Min,
  timeoutMs: timeoutSeconds * 1000,
  retries,
});

export const AI_SERVICES: readonly AiServiceEntry[] = [
  entry('vision-pro', 'Vision Pro', 'medical imaging', 'medical', 'medical', 500, 30, 3),
  entry('health-ai', 'Health AI', 'personal health intelligence', 'health', 'health', 300, 25, 3),
  entry('code-forge', 'Code Forge', 'code generation & analysis', 'developer', 'code', 1000, 45, 2),
  entry('creative-studio', 'Creative Studio', 'content generation', 'creative', 'creative', 800, 60, 2),
  entry('mesh3d', 'Mesh3D', '3D generation', 'designer', '3d', 200, 90, 2),
  entry('data-forge', 'Data Forge', 'data intelligence', 'analyst', 'data', 600, 120, 3),
  entry('automl', 'AutoML', 'automated machine learning', 'ml-engineer', 'ml', 100, 180, 2),
  entry('secure-ai', 'Secure AI', 'security operations', 'security', 'security', 2000, 15, 3),
  entry('legal-ai', 'Legal AI', 'legal assistant', 'legal', 'legal', 400, 30, 3),
  entry('chat-builder', 'Chat Builder', 'conversational AI', 'support', 'chat', 1500, 20, 3),
  entry('video-ai', 'Video AI', 'video intelligence', 'media', 'video', 50, 300, 2),
  entry('voice-ai', 'Voice AI', 'voice intelligence', 'voice', 'voice', 800, 45, 3),
  entry('translate-ai', 'Translate AI', 'neural translation', 'translator', 'translate', 2000, 20, 3),
  entry('finance-ai', 'Finance AI', 'financial analysis', 'finance', 'finance', 600, 25, 3),
  entry('documind', 'DocuMind', 'document processing', 'document', 'document', 1000, 60, 3),
  entry('edge-ai', 'Edge AI', 'edge computing', 'infrastructure', 'edge', 1200, 15, 3),
];

/** `vision-pro` → `visionPro`: the service's root field name. */
export function fieldName(slug: string): string {
  return slug.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** Subgraph name of a wrapper: `ai-vision-pro`. */
export function subgraphName(slug: string): string {
  return `ai-${slug}`;
}
