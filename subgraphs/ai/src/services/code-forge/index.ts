// code-forge: code analysis and formatting, metered in tokens (characters / 4, known before the call).
import { readFileSync } from 'node:fs';

import { defineWrapper } from '@g3d/ai-kit';

import { intBetween, text } from '../inputs.ts';

const MAX_SOURCE = 200_000;

interface CodeArgs {
  input: {
    source: string;
    language: string;
    fileName?: string | null;
    printWidth?: number | null;
    tabWidth?: number | null;
    useTabs?: boolean | null;
    semi?: boolean | null;
    singleQuote?: boolean | null;
  };
}

const tokens = (args: Record<string, unknown>) =>
  Math.max(1, Math.ceil(((args as unknown as CodeArgs).input.source?.length ?? 0) / 4));

const flag = (key: string, value: boolean | null | undefined) => (typeof value === 'boolean' ? { [key]: value } : {});

export default defineWrapper({
  slug: 'code-forge',
  typeDefs: readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'),
  operations: {
    analyzeCode: {
      mode: 'sync',
      units: tokens,
      input(args) {
        const { input } = args as unknown as CodeArgs;
        return {
          source: text(input.source, MAX_SOURCE, 'input.source'),
          language: input.language,
          ...(input.fileName ? { fileName: text(input.fileName, 255, 'input.fileName') } : {}),
        };
      },
    },
    formatCode: {
      mode: 'sync',
      units: tokens,
      input(args) {
        const { input } = args as unknown as CodeArgs;
        return {
          source: text(input.source, MAX_SOURCE, 'input.source'),
          language: input.language,
          ...intBetween('printWidth', input.printWidth, 40, 200, 'input.printWidth'),
          ...intBetween('tabWidth', input.tabWidth, 1, 8, 'input.tabWidth'),
          ...flag('useTabs', input.useTabs),
          ...flag('semi', input.semi),
          ...flag('singleQuote', input.singleQuote),
        };
      },
    },
  },
});
