// The services the reference upstream does real work for, by registry slug. A service not listed here answers
// its health check only.
import type { ServiceOperations } from '../protocol.ts';
import { codeForge } from './code-forge.ts';
import { dataForge } from './data-forge.ts';
import { secureAi } from './secure-ai.ts';
import { visionPro } from './vision-pro.ts';

export const IMPLEMENTED: Readonly<Record<string, ServiceOperations>> = {
  'vision-pro': visionPro,
  'code-forge': codeForge,
  'data-forge': dataForge,
  'secure-ai': secureAi,
};
