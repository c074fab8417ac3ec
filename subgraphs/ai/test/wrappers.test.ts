// The four wrappers' operation maps: each argument is checked before the upstream is called (BAD_USER_INPUT
// naming the field), optional ones are left out, units are known up front; and each wrapper's module builds
// (its SDL, rules for every field, one operation per mutation). Through the gateway: platform/test/ai-*.test.ts.
import { type InputTools, wrapperModule } from '@g3d/ai-kit';
import { AI_SERVICES } from '@g3d/manifest';
import { describe, expect, it } from 'vitest';

import { WRAPPERS } from '../src/services/index.ts';

const tools: InputTools = {
  binary: async (value) => {
    if (value.url) return Buffer.from('fetched').toString('base64');
    return value.base64 as string;
  },
};

const op = (slug: string, name: string) => {
  const operation = WRAPPERS[slug]?.operations[name];
  if (!operation) throw new Error(`${slug} has no ${name}`);
  return operation;
};

async function refusal(call: () => Promise<unknown> | unknown) {
  try {
    await call();
  } catch (error) {
    return (error as { extensions?: Record<string, unknown> }).extensions;
  }
  throw new Error('not refused');
}

describe('the wrappers with operations', () => {
  it.each(Object.keys(WRAPPERS))('%s builds its module: SDL, a rule per field, an operation per mutation', (slug) => {
    const facts = AI_SERVICES.find((s) => s.slug === slug);
    expect(facts).toBeDefined();
    const wrapper = WRAPPERS[slug]!;
    expect(wrapper.slug).toBe(slug);
    const module = wrapperModule(facts!, wrapper);
    expect(Object.keys((module.rules.Mutation ?? {}) as object).sort()).toEqual(
      [...Object.keys(wrapper.operations), ...(wrapper.jobResultType ? [`cancel${jobType(slug)}Job`] : [])].sort(),
    );
  });
});

const jobType = (slug: string) => slug.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());

describe('vision-pro analyzeImage', () => {
  const analyze = op('vision-pro', 'analyzeImage');
  it('sends the image and only the options given; meters one image', async () => {
    expect(await analyze.input({ input: { image: { base64: 'AA==' }, minArea: 3 } }, tools)).toEqual({
      image: 'AA==',
      minArea: 3,
    });
    expect(analyze.units?.({})).toBe(1);
  });
  it.each([
    [{ minArea: 0 }, 'input.minArea'],
    [{ maxFindings: 501 }, 'input.maxFindings'],
    [{ maxFindings: 1.5 }, 'input.maxFindings'],
    [{ threshold: Number.POSITIVE_INFINITY }, 'input.threshold'],
  ])('refuses %j', async (extra, field) => {
    expect(await refusal(() => analyze.input({ input: { image: { base64: 'AA==' }, ...extra } }, tools))).toMatchObject(
      {
        code: 'BAD_USER_INPUT',
        field,
      },
    );
  });
});

describe('code-forge', () => {
  it('meters tokens as characters / 4, at least 1', () => {
    const units = op('code-forge', 'analyzeCode').units!;
    expect(units({ input: { source: 'x'.repeat(10), language: 'TYPESCRIPT' } })).toBe(3);
    expect(units({ input: { source: '', language: 'TYPESCRIPT' } })).toBe(1);
  });
  it('refuses a source over 200,000 characters and out-of-range formatting options', async () => {
    const analyze = op('code-forge', 'analyzeCode');
    expect(
      await refusal(() => analyze.input({ input: { source: 'x'.repeat(200_001), language: 'TYPESCRIPT' } }, tools)),
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.source' });
    const format = op('code-forge', 'formatCode');
    expect(
      await refusal(() => format.input({ input: { source: 'x', language: 'TYPESCRIPT', printWidth: 10 } }, tools)),
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.printWidth' });
    expect(await format.input({ input: { source: 'x', language: 'TSX', semi: false, useTabs: null } }, tools)).toEqual({
      source: 'x',
      language: 'TSX',
      semi: false,
    });
  });
});

describe('data-forge profileDataset (a job)', () => {
  const profile = op('data-forge', 'profileDataset');
  it('is a job; takes the CSV inline or by URL, and a delimiter by name', async () => {
    expect(profile.mode).toBe('job');
    expect(await profile.input({ input: { csv: 'a\n1\n', delimiter: 'tab' } }, tools)).toEqual({
      csv: 'a\n1\n',
      delimiter: '\t',
    });
    expect(await profile.input({ input: { csvUrl: 'https://example.com/a.csv' } }, tools)).toEqual({ csv: 'fetched' });
  });
  it.each([
    [{}, 'input.csv'],
    [{ csv: 'a', csvUrl: 'https://example.com/a.csv' }, 'input.csv'],
    [{ csv: 'a\u0000b' }, 'input.csv'],
    [{ csv: 'a', delimiter: '#' }, 'input.delimiter'],
    [{ csv: 'a', histogramBins: 1 }, 'input.histogramBins'],
  ])('refuses %j', async (input, field) => {
    expect(await refusal(() => profile.input({ input }, tools))).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });
});

describe('secure-ai scanContent', () => {
  const scan = op('secure-ai', 'scanContent');
  it('sends the text and distinct categories; refuses more than 1,000,000 characters', async () => {
    expect(await scan.input({ input: { text: 'x', categories: ['PII', 'PII', 'SECRET'] } }, tools)).toEqual({
      text: 'x',
      categories: ['PII', 'SECRET'],
    });
    expect(await refusal(() => scan.input({ input: { text: 'x'.repeat(1_000_001) } }, tools))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.text',
    });
  });
});
