// data-forge: dataset profiling, a job (a large CSV takes a while): the mutation answers with the job at once.
import { readFileSync } from 'node:fs';

import { defineWrapper } from '@g3d/ai-kit';
import { AppError } from '@g3d/errors';

import { intBetween, text } from '../inputs.ts';

const MAX_CSV = 10 * 1024 * 1024;
const DELIMITERS: Record<string, string> = { ',': ',', ';': ';', '\t': '\t', tab: '\t', '|': '|' };

interface ProfileArgs {
  input: {
    csv?: string | null;
    csvUrl?: string | null;
    delimiter?: string | null;
    hasHeader?: boolean | null;
    histogramBins?: number | null;
  };
}

export default defineWrapper({
  slug: 'data-forge',
  typeDefs: readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'),
  jobResultType: 'DatasetProfile',
  operations: {
    profileDataset: {
      mode: 'job',
      async input(args, tools) {
        const { input } = args as unknown as ProfileArgs;
        const given = typeof input.csv === 'string' ? 'csv' : typeof input.csvUrl === 'string' ? 'url' : null;
        if (!given || (typeof input.csv === 'string' && typeof input.csvUrl === 'string')) {
          throw new AppError('BAD_USER_INPUT', 'input: give exactly one of csv or csvUrl', { field: 'input.csv' });
        }
        const csv =
          given === 'csv'
            ? text(input.csv as string, MAX_CSV, 'input.csv')
            : Buffer.from(await tools.binary({ url: input.csvUrl as string }, 'input.csvUrl'), 'base64').toString(
                'utf8',
              );
        // Jobs keep their input in PostgreSQL, whose JSON cannot hold NUL; a CSV with NUL is not text anyway.
        if (csv.includes('\u0000')) {
          throw new AppError('BAD_USER_INPUT', 'The CSV is not text: it contains NUL bytes', { field: 'input.csv' });
        }
        let delimiter: string | undefined;
        if (input.delimiter != null) {
          delimiter = DELIMITERS[input.delimiter];
          if (!delimiter) {
            throw new AppError('BAD_USER_INPUT', 'input.delimiter must be one of , ; tab |', {
              field: 'input.delimiter',
            });
          }
        }
        return {
          csv,
          ...(delimiter ? { delimiter } : {}),
          ...(typeof input.hasHeader === 'boolean' ? { hasHeader: input.hasHeader } : {}),
          ...intBetween('histogramBins', input.histogramBins, 2, 50, 'input.histogramBins'),
        };
      },
    },
  },
});
