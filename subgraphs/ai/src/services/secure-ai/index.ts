// secure-ai: content scanning for secrets, personal data and injections.
import { readFileSync } from 'node:fs';

import { defineWrapper } from '@g3d/ai-kit';

import { text } from '../inputs.ts';

interface ScanArgs {
  input: { text: string; categories?: string[] | null };
}

export default defineWrapper({
  slug: 'secure-ai',
  typeDefs: readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'),
  operations: {
    scanContent: {
      mode: 'sync',
      input(args) {
        const { input } = args as unknown as ScanArgs;
        return {
          text: text(input.text, 1_000_000, 'input.text'),
          ...(input.categories?.length ? { categories: [...new Set(input.categories)] } : {}),
        };
      },
    },
  },
});
