// The wrappers with operations, by registry slug; a service missing here describes itself only.
// `npm run new:ai-service <slug>` scaffolds a folder and adds its line.
import type { WrapperDefinition } from '@g3d/ai-kit';

import codeForge from './code-forge/index.ts';
import dataForge from './data-forge/index.ts';
import secureAi from './secure-ai/index.ts';
import visionPro from './vision-pro/index.ts';

export const WRAPPERS: Readonly<Record<string, WrapperDefinition>> = {
  'vision-pro': visionPro,
  'code-forge': codeForge,
  'data-forge': dataForge,
  'secure-ai': secureAi,
};
