// data-forge: profiles a CSV dataset — column types, null and distinct counts, numeric summaries with outliers,
// frequent values and pairwise correlations. The CSV streams through csv-parse in chunks into per-column
// accumulators; no array of rows is ever built.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';

import { CsvError, parse } from 'csv-parse';
import { z } from 'zod';

import { checkAborted, operation, type ServiceOperations, UpstreamError } from '../protocol.ts';
import { ColumnAccumulator, type ColumnProfile, MAX_DISTINCT } from './data-forge/column.ts';
import { pearson } from './data-forge/stats.ts';
import { assertText, type Delimiter, DELIMITERS, firstLineCounts, sniffDelimiter } from './data-forge/text.ts';

export const MAX_CSV_CHARS = 10 * 1024 * 1024;
export const MAX_COLUMNS = 1000;
export const MAX_ROWS = 1_000_000;
/** Correlations are computed between the first this many numeric columns (pairs grow with the square). */
export const MAX_CORRELATED_COLUMNS = 50;
const CHUNK_CHARS = 64 * 1024;

export const profileDatasetInput = z.object({
  csv: z.string(),
  /** Default: the candidate found most often on the first line. */
  delimiter: z.enum(DELIMITERS).optional(),
  hasHeader: z.boolean().default(true),
  histogramBins: z.number().int().min(2).max(50).default(10),
});

export interface ProfileDatasetResult {
  rowCount: number;
  columnCount: number;
  delimiter: Delimiter;
  columns: ColumnProfile[];
  correlations: { a: string; b: string; pearson: number | null }[];
  warnings: string[];
}

export const dataForge = {
  profileDataset: operation(profileDatasetInput, async (input, { signal }): Promise<ProfileDatasetResult> => {
    checkAborted(signal);
    const { csv, hasHeader, histogramBins } = input;
    if (csv.length > MAX_CSV_CHARS) {
      throw new UpstreamError('INPUT_TOO_LARGE', `The csv is longer than ${MAX_CSV_CHARS} characters`, 413);
    }
    assertText(csv);
    const counts = firstLineCounts(csv);
    const delimiter = input.delimiter ?? sniffDelimiter(counts);
    // Refused before csv-parse builds a record of millions of fields.
    if (counts.get(delimiter)! + 1 > MAX_COLUMNS) throw tooManyColumns(counts.get(delimiter)! + 1);
    const warnings: string[] = [];

    let columns: ColumnAccumulator[] | null = null;
    let rows = 0;
    const onRecord = (fields: string[]): void => {
      if (columns === null) {
        if (fields.length > MAX_COLUMNS) throw tooManyColumns(fields.length);
        columns = fields.map(
          (field, index) =>
            new ColumnAccumulator(hasHeader && field.trim() !== '' ? field.trim() : `column_${index + 1}`, index),
        );
        if (hasHeader) return;
      }
      if (rows === MAX_ROWS) {
        throw new UpstreamError('INPUT_TOO_LARGE', `The csv has more than ${MAX_ROWS} rows`, 413);
      }
      for (let i = 0; i < fields.length; i++) columns[i]!.add(fields[i]!, rows);
      rows++;
    };

    const parser = parse({ delimiter, bom: true, skip_empty_lines: true, relax_column_count: false });
    async function* chunks(): AsyncGenerator<string> {
      for (let offset = 0; offset < csv.length;) {
        // A turn of the event loop between chunks, so a cancellation can arrive and be seen.
        await nextTurn();
        checkAborted(signal);
        let end = Math.min(csv.length, offset + CHUNK_CHARS);
        // Never split a surrogate pair: each chunk is encoded to UTF-8 on its own.
        if (end < csv.length && /[\uD800-\uDBFF]/.test(csv[end - 1]!)) end--;
        yield csv.slice(offset, end);
        offset = end;
      }
    }
    try {
      // A refusal from onRecord goes to the callback: thrown from write() it would escape the pipeline.
      const sink = new Writable({
        objectMode: true,
        highWaterMark: 1024,
        writev(batch: { chunk: string[] }[], callback) {
          try {
            for (const { chunk } of batch) onRecord(chunk);
            callback();
          } catch (error) {
            callback(error as Error);
          }
        },
      });
      await pipeline(Readable.from(chunks()), parser, sink);
    } catch (error) {
      if (error instanceof UpstreamError) throw error;
      if (error instanceof CsvError) throw malformed(error, csv);
      throw error;
    }

    const accumulators: ColumnAccumulator[] = columns ?? [];
    const names = new Set<string>();
    for (const column of accumulators) {
      if (names.has(column.name)) warnings.push(`The column name "${column.name}" appears more than once`);
      names.add(column.name);
      if (column.capped) {
        warnings.push(
          `Column "${column.name}" has more than ${MAX_DISTINCT} distinct values: its distinctCount is capped at ` +
            `${MAX_DISTINCT} and its topValues count only those first seen`,
        );
      }
    }
    const profiles = accumulators.map((column) => column.profile(rows, histogramBins));

    const numeric = accumulators
      .map((column) => ({ name: column.name, values: column.rowValues(rows) }))
      .filter((column): column is { name: string; values: Float64Array } => column.values !== null);
    if (numeric.length > MAX_CORRELATED_COLUMNS) {
      warnings.push(
        `Correlations are computed between the first ${MAX_CORRELATED_COLUMNS} of the ${numeric.length} numeric columns`,
      );
      numeric.length = MAX_CORRELATED_COLUMNS;
    }
    const correlations: ProfileDatasetResult['correlations'] = [];
    for (let i = 0; i < numeric.length; i++) {
      await nextTurn();
      checkAborted(signal);
      const a = numeric[i]!;
      for (const b of numeric.slice(i + 1)) {
        correlations.push({ a: a.name, b: b.name, pearson: pearson(a.values, b.values, rows) });
      }
    }

    return { rowCount: rows, columnCount: accumulators.length, delimiter, columns: profiles, correlations, warnings };
  }),
} satisfies ServiceOperations;

function tooManyColumns(count: number): UpstreamError {
  return new UpstreamError('INPUT_TOO_LARGE', `The csv has ${count} columns; at most ${MAX_COLUMNS}`, 413);
}

function malformed(error: CsvError, csv: string): UpstreamError {
  // csv-parse reports an unclosed quote where the input ends: name the line the quote opens on instead.
  const line = error.code === 'CSV_QUOTE_NOT_CLOSED' ? unclosedQuoteLine(csv) : Number(error.lines);
  return new UpstreamError('MALFORMED_CSV', `The csv is malformed at line ${line}: ${error.message}`, 422);
}

/** The 1-based line of the last opening quote, which is never closed. */
function unclosedQuoteLine(csv: string): number {
  let line = 1;
  let quoted = false;
  let openedAt = 1;
  for (let i = 0; i < csv.length; i++) {
    const char = csv[i];
    if (char === '"') {
      quoted = !quoted;
      if (quoted) openedAt = line;
    } else if (char === '\n' || (char === '\r' && csv[i + 1] !== '\n')) {
      line++;
    }
  }
  return openedAt;
}
