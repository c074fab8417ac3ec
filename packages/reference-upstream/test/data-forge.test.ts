import { describe, expect, it } from 'vitest';

import { UpstreamError } from '../src/protocol.ts';
import { dataForge, type ProfileDatasetResult } from '../src/services/data-forge.ts';
import { knownCsv, knownCsvText } from './fixtures/csv.ts';

const op = dataForge.profileDataset;

async function profile(body: Record<string, unknown>, signal = new AbortController().signal) {
  return (await op.run(op.input.parse(body), { signal })) as ProfileDatasetResult;
}

async function refusal(body: Record<string, unknown>): Promise<UpstreamError> {
  const error: unknown = await profile(body).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

describe('data-forge profileDataset: known answers', () => {
  it('profiles every column type, nulls, quoted fields, outliers and correlations', async () => {
    const { csv, expected } = knownCsv();
    expect(await profile({ csv })).toEqual(expected);
  });

  it('sniffs semicolons, tabs and pipes from the first line', async () => {
    for (const delimiter of [';', '\t', '|']) {
      const { csv, expected } = knownCsv(delimiter);
      expect(await profile({ csv })).toEqual(expected);
    }
    // A comma inside a quoted header does not outvote the semicolons.
    const result = await profile({ csv: '"a,b,c";d\n1;2\n' });
    expect(result).toMatchObject({ delimiter: ';', columnCount: 2, columns: [{ name: 'a,b,c' }, { name: 'd' }] });
  });

  it('takes an explicit delimiter and headerless data', async () => {
    const result = await profile({ csv: '1;2\n3;4\n', delimiter: ';', hasHeader: false, histogramBins: 2 });
    expect(result).toMatchObject({ rowCount: 2, columnCount: 2, delimiter: ';' });
    expect(result.columns.map((c) => c.name)).toEqual(['column_1', 'column_2']);
    expect(result.columns[0]!.numeric).toMatchObject({ min: 1, max: 3, histogram: { bins: 2, counts: [1, 1] } });
    expect(result.correlations).toEqual([{ a: 'column_1', b: 'column_2', pearson: 1 }]);
  });

  it('infers NUMBER with exponents, DATE with time zones, STRING on any misfit', async () => {
    const csv = [
      'n,d,s,b,i',
      '1e3,2024-02-29,2024-02-30,TRUE,007',
      '-0.5,2024-03-01 12:30,abc,No,+3',
      '.25,2024-03-01T12:30:15.123+02:00,1,yes,-4',
    ].join('\r\n');
    const result = await profile({ csv });
    expect(result.columns.map((c) => c.type)).toEqual(['NUMBER', 'DATE', 'STRING', 'BOOLEAN', 'INTEGER']);
    expect(result.columns[0]!.numeric).toMatchObject({ min: -0.5, max: 1000, sum: 999.75 });
    expect(result.columns[4]!.numeric).toMatchObject({ min: -4, max: 7, sum: 6 });
  });

  it('keeps quoted delimiters, quotes and newlines inside fields', async () => {
    const result = await profile({ csv: 'a,b\n"x, ""y""\nz",1\nw,2\n' });
    expect(result.rowCount).toBe(2);
    expect(result.columns[0]!.text!.maxLength).toBe('x, "y"\nz'.length);
  });

  it('answers an empty CSV and a header without rows', async () => {
    expect(await profile({ csv: '' })).toMatchObject({ rowCount: 0, columnCount: 0, columns: [], correlations: [] });
    const result = await profile({ csv: 'a,b\n' });
    expect(result).toMatchObject({ rowCount: 0, columnCount: 2 });
    expect(result.columns[0]).toMatchObject({ type: 'EMPTY', numeric: null, text: null });
  });

  it('warns about duplicate names and limits correlations to 50 numeric columns', async () => {
    const header = Array.from({ length: 52 }, (_, i) => (i === 51 ? 'c0' : `c${i}`));
    const rows = [1, 2, 3].map((r) => header.map((_, i) => r * (i + 1)).join(','));
    const result = await profile({ csv: [header.join(','), ...rows].join('\n') });
    expect(result.correlations).toHaveLength((50 * 49) / 2);
    expect(result.warnings).toEqual([
      'The column name "c0" appears more than once',
      'Correlations are computed between the first 50 of the 52 numeric columns',
    ]);
  });

  it('caps distinct counts at 100,000 with a warning', async () => {
    const csv = 'id\n' + Array.from({ length: 100_005 }, (_, i) => `k${i}`).join('\n');
    const result = await profile({ csv });
    expect(result.columns[0]).toMatchObject({ type: 'STRING', distinctCount: 100_000 });
    expect(result.warnings).toEqual([expect.stringMatching(/more than 100000 distinct values/)]);
  });

  it('streams a multi-chunk CSV with multi-byte characters intact', async () => {
    const lines = ['id,word'];
    for (let i = 0; i < 30_000; i++) lines.push(`${i},${i % 3 === 0 ? 'grüße😀' : 'plain'}`);
    const result = await profile({ csv: lines.join('\n') });
    expect(result.rowCount).toBe(30_000);
    expect(result.columns[0]!.numeric).toMatchObject({ min: 0, max: 29_999, sum: (29_999 * 30_000) / 2 });
    expect(result.columns[1]!.text!.topValues).toEqual([
      { value: 'plain', count: 20_000 },
      { value: 'grüße😀', count: 10_000 },
    ]);
  });
});

describe('data-forge profileDataset: refusals', () => {
  it('refuses an unclosed quote with the line it starts on', async () => {
    const error = await refusal({ csv: 'a,b\n1,2\n3,"4\n5,6\n' });
    expect(error).toMatchObject({ code: 'MALFORMED_CSV', status: 422 });
    expect(error.message).toMatch(/line 3/);
  });

  it('refuses an inconsistent column count with its line', async () => {
    const error = await refusal({ csv: 'a,b\n1,2\n3,4\n5\n' });
    expect(error).toMatchObject({ code: 'MALFORMED_CSV' });
    expect(error.message).toMatch(/line 4/);
  });

  it('refuses binary data as not text', async () => {
    expect(await refusal({ csv: 'a,b\n1,\u00002\n' })).toMatchObject({ code: 'INVALID_INPUT', status: 400 });
    const noisy = 'a,b\n' + '1,2\u0001\n'.repeat(50);
    expect((await refusal({ csv: noisy })).message).toMatch(/not text/);
    // Under 1 % control characters is still text.
    expect((await profile({ csv: 'a\n' + 'xxxxxxxxx\n'.repeat(100) + 'y\u0007\n' })).rowCount).toBe(101);
  });

  it('refuses more than 1000 columns and input over 10 MiB', async () => {
    const wide = Array.from({ length: 1001 }, (_, i) => `c${i}`).join(',');
    expect(await refusal({ csv: wide })).toMatchObject({ code: 'INPUT_TOO_LARGE', status: 413 });
    expect(await refusal({ csv: 'a\n' + '1\n'.repeat(5 * 1024 * 1024) })).toMatchObject({
      code: 'INPUT_TOO_LARGE',
      status: 413,
    });
  });

  it('refuses more than 1,000,000 rows', async () => {
    expect(await refusal({ csv: 'a\n' + '1\n'.repeat(1_000_001) })).toMatchObject({ code: 'INPUT_TOO_LARGE' });
  });

  it('stops when the caller has gone', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(profile({ csv: knownCsvText() }, controller.signal)).rejects.toMatchObject({ code: 'ABORTED' });
    const late = new AbortController();
    const big = 'a,b\n' + '1,2\n'.repeat(500_000);
    const pending = profile({ csv: big }, late.signal);
    setImmediate(() => late.abort());
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED', status: 499 });
  });

  it('refuses bad input shapes in the schema', () => {
    for (const body of [
      {},
      { csv: 1 },
      { csv: 'a', delimiter: ':' },
      { csv: 'a', hasHeader: 'yes' },
      { csv: 'a', histogramBins: 1 },
      { csv: 'a', histogramBins: 51 },
      { csv: 'a', histogramBins: 2.5 },
    ]) {
      expect(op.input.safeParse(body).success, JSON.stringify(body)).toBe(false);
    }
    expect(op.input.parse({ csv: 'a' })).toEqual({ csv: 'a', hasHeader: true, histogramBins: 10 });
  });
});
