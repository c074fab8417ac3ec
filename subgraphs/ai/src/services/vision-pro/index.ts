// vision-pro: medical imaging. One synchronous operation: image analysis (PNG or DICOM), metered per image.
import { readFileSync } from 'node:fs';

import { type BinaryArgument, defineWrapper } from '@g3d/ai-kit';

import { intBetween, numberOrNull } from '../inputs.ts';

interface AnalyzeImageArgs {
  input: { image: BinaryArgument; threshold?: number | null; minArea?: number | null; maxFindings?: number | null };
}

export default defineWrapper({
  slug: 'vision-pro',
  typeDefs: readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'),
  operations: {
    analyzeImage: {
      mode: 'sync',
      units: () => 1,
      async input(args, tools) {
        const { input } = args as unknown as AnalyzeImageArgs;
        return {
          image: await tools.binary(input.image, 'input.image'),
          ...numberOrNull('threshold', input.threshold, 'input.threshold'),
          ...intBetween('minArea', input.minArea, 1, 1_000_000, 'input.minArea'),
          ...intBetween('maxFindings', input.maxFindings, 1, 500, 'input.maxFindings'),
        };
      },
    },
  },
});
