// The services the reference upstream does real work for, by registry slug, each loaded on its first request:
// their libraries (the TypeScript compiler above all) take seconds to load, and most starts of the platform
// never call most services. A service not listed here answers its health check only.
import type { ServiceOperations } from '../protocol.ts';

export const IMPLEMENTED: Readonly<Record<string, () => Promise<ServiceOperations>>> = {
  'vision-pro': async () => (await import('./vision-pro.ts')).visionPro,
  'code-forge': async () => (await import('./code-forge.ts')).codeForge,
  'data-forge': async () => (await import('./data-forge.ts')).dataForge,
  'secure-ai': async () => (await import('./secure-ai.ts')).secureAi,
};
