// The AI wrapper subgraphs: one package builds any of the 16 from its registry entry (packages/manifest) and
// its folder under services/ (SDL + operation map), with the wrapper kit (packages/ai-kit).
import { wrapperService } from '@g3d/ai-kit';

import { WRAPPERS } from './services/index.ts';

export { WRAPPERS } from './services/index.ts';

export const service = wrapperService(WRAPPERS);
