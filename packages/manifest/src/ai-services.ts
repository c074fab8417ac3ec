// The registry of the 16 AI services: the one list of them. The facts of the original platform's gateway
// (reference/ai-services.md): domain role and scope prefix, rate limit per caller per 15 minutes, upstream
// timeout and retries; and what each meters besides requests. The RBAC model (packages/auth/src/rbac.ts), the
// wrappers, the plans, the service manifest and everything else that needs the list derive it from here. Each
// service has an explicit default port: adding one never moves another.

export interface AiServiceFacts {
  slug: string;
  name: string;
  domain: string;
  /** The organization role that may call it (`owner` and `admin` always may). */
  role: string;
  /** Scope prefix: `<scope>:read` for queries, `<scope>:write` for mutations. */
  scope: string;
  rateLimitPer15Min: number;
  timeoutSeconds: number;
  retries: number;
  defaultPort: number;
  /**
   * What the service meters besides requests (tokens, images, seconds, …), counted against a plan's unit quota;
   * null when it counts requests only.
   */
  meteredUnit: string | null;
  /**
   * The upstream's protocol: `g3d` (`POST {url}/v1/{operation}`, see docs/adr/0008-ai-service-wrappers.md), or a
   * de-facto standard where one exists for the kind of service (`openai`: chat/completions; `libretranslate`).
   */
  protocol: 'g3d' | 'openai' | 'libretranslate';
  /** Path of the upstream's health check, below its URL. */
  healthPath: string;
}

export const AI_SERVICES = [
  ai('vision-pro', 'Vision Pro', 'medical imaging', 'medical', 'medical', 500, 30, 3, 4101, 'images'),
  ai('health-ai', 'Health AI', 'personal health intelligence', 'health', 'health', 300, 25, 3, 4102, null),
  ai('code-forge', 'Code Forge', 'code generation & analysis', 'developer', 'code', 1000, 45, 2, 4103, 'tokens'),
  ai('creative-studio', 'Creative Studio', 'content generation', 'creative', 'creative', 800, 60, 2, 4104, 'tokens'),
  ai('mesh3d', 'Mesh3D', '3D generation', 'designer', '3d', 200, 90, 2, 4105, null),
  ai('data-forge', 'Data Forge', 'data intelligence', 'analyst', 'data', 600, 120, 3, 4106, null),
  ai('automl', 'AutoML', 'automated machine learning', 'ml-engineer', 'ml', 100, 180, 2, 4107, 'minutes'),
  ai('secure-ai', 'Secure AI', 'security operations', 'security', 'security', 2000, 15, 3, 4108, null),
  ai('legal-ai', 'Legal AI', 'legal assistant', 'legal', 'legal', 400, 30, 3, 4109, 'tokens'),
  ai('chat-builder', 'Chat Builder', 'conversational AI', 'support', 'chat', 1500, 20, 3, 4110, 'tokens'),
  ai('video-ai', 'Video AI', 'video intelligence', 'media', 'video', 50, 300, 2, 4111, 'seconds'),
  ai('voice-ai', 'Voice AI', 'voice intelligence', 'voice', 'voice', 800, 45, 3, 4112, 'seconds'),
  ai('translate-ai', 'Translate AI', 'neural translation', 'translator', 'translate', 2000, 20, 3, 4113, 'characters'),
  ai('finance-ai', 'Finance AI', 'financial analysis', 'finance', 'finance', 600, 25, 3, 4114, null),
  ai('documind', 'DocuMind', 'document processing', 'document', 'document', 1000, 60, 3, 4115, 'pages'),
  ai('edge-ai', 'Edge AI', 'edge computing', 'infrastructure', 'edge', 1200, 15, 3, 4116, null),
] as const satisfies readonly AiServiceFacts[];

export type AiServiceSlug = (typeof AI_SERVICES)[number]['slug'];

function ai<const S extends string, const R extends string, const P extends string>(
  slug: S,
  name: string,
  domain: string,
  role: R,
  scope: P,
  rateLimitPer15Min: number,
  timeoutSeconds: number,
  retries: number,
  defaultPort: number,
  meteredUnit: string | null,
) {
  return {
    slug,
    name,
    domain,
    role,
    scope,
    rateLimitPer15Min,
    timeoutSeconds,
    retries,
    defaultPort,
    meteredUnit,
    protocol: 'g3d' as AiServiceFacts['protocol'],
    healthPath: '/health',
  };
}

/** `vision-pro` → `visionPro`: the service's root field name. */
export function aiFieldName(slug: string): string {
  return slug.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** `vision-pro` → `VisionPro`: the prefix of the service's own GraphQL type names. */
export function aiTypeName(slug: string): string {
  const field = aiFieldName(slug);
  return field.charAt(0).toUpperCase() + field.slice(1);
}

/** Settings that override a service's registry facts: `vision-pro` → `AI_VISION_PRO_UPSTREAM_URL`, … */
export function aiSetting(slug: string, fact: 'UPSTREAM_URL' | 'TIMEOUT_SECONDS' | 'RETRIES'): string {
  return `AI_${slug.toUpperCase().replace(/-/g, '_')}_${fact}`;
}

/** Subgraph (and service) name of a wrapper: `ai-vision-pro`. */
export function aiServiceName(slug: string): string {
  return `ai-${slug}`;
}
