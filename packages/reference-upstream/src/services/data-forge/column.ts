// One column's running profile, fed a value at a time while the CSV streams: which types every value still fits,
// null and distinct counts, lengths, and (while the column may be numeric) its numbers by row.
import { type NumericProfile, numericProfile } from './stats.ts';

export type ColumnType = 'INTEGER' | 'NUMBER' | 'BOOLEAN' | 'DATE' | 'STRING' | 'EMPTY';

export const NULL_TOKENS: ReadonlySet<string> = new Set(['', 'NA', 'N/A', 'null', 'NULL', 'NaN']);
export const MAX_DISTINCT = 100_000;

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const BOOLEAN = /^(?:true|false|yes|no)$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

function isDate(value: string): boolean {
  const match = DATE.exec(value);
  if (!match) return false;
  const [, year, month, day, hour, minute, second] = match.map(Number) as number[];
  const days = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  if (month! < 1 || month! > 12 || day! < 1 || day! > days) return false;
  if (match[4] !== undefined && (hour! > 23 || minute! > 59)) return false;
  return match[6] === undefined || second! <= 59;
}

export interface ColumnProfile {
  name: string;
  index: number;
  type: ColumnType;
  nullCount: number;
  distinctCount: number;
  numeric: NumericProfile | null;
  text: { minLength: number; maxLength: number; topValues: { value: string; count: number }[] } | null;
}

export class ColumnAccumulator {
  nullCount = 0;
  present = 0;
  private integer = true;
  private number = true;
  private boolean = true;
  private date = true;
  /** The parsed number of every row (NaN for null), while every value so far is numeric. */
  private numbers: Float64Array | null = new Float64Array(1024);
  /** Value → occurrences, up to MAX_DISTINCT values (then `capped`: later new values are not counted). */
  readonly distinct = new Map<string, number>();
  capped = false;
  private minLength = Infinity;
  private maxLength = 0;

  constructor(
    readonly name: string,
    readonly index: number,
  ) {}

  /** `raw` is the field of data row `row` (0-based); values are compared trimmed. */
  add(raw: string, row: number): void {
    const value = raw.trim();
    if (NULL_TOKENS.has(value)) {
      this.nullCount++;
      this.store(row, NaN);
      return;
    }
    this.present++;
    const seen = this.distinct.get(value);
    if (seen !== undefined) this.distinct.set(value, seen + 1);
    else if (this.distinct.size < MAX_DISTINCT) this.distinct.set(value, 1);
    else this.capped = true;
    if (value.length < this.minLength) this.minLength = value.length;
    if (value.length > this.maxLength) this.maxLength = value.length;

    if (this.number) {
      const parsed = NUMBER.test(value) ? Number(value) : NaN;
      if (Number.isFinite(parsed)) {
        if (this.integer && !INTEGER.test(value)) this.integer = false;
        this.store(row, parsed);
      } else {
        this.number = false;
        this.integer = false;
        this.numbers = null;
      }
    }
    if (this.boolean && !BOOLEAN.test(value)) this.boolean = false;
    if (this.date && !isDate(value)) this.date = false;
  }

  private store(row: number, value: number): void {
    if (this.numbers === null) return;
    if (row >= this.numbers.length) {
      const grown = new Float64Array(Math.max(row + 1, this.numbers.length * 2));
      grown.set(this.numbers);
      this.numbers = grown;
    }
    this.numbers[row] = value;
  }

  get type(): ColumnType {
    if (this.present === 0) return 'EMPTY';
    if (this.integer) return 'INTEGER';
    if (this.number) return 'NUMBER';
    if (this.boolean) return 'BOOLEAN';
    if (this.date) return 'DATE';
    return 'STRING';
  }

  /** One number per row (NaN for null) when the column is INTEGER or NUMBER. */
  rowValues(rows: number): Float64Array | null {
    const type = this.type;
    if ((type !== 'INTEGER' && type !== 'NUMBER') || this.numbers === null) return null;
    return this.numbers.subarray(0, rows);
  }

  profile(rows: number, bins: number): ColumnProfile {
    const type = this.type;
    const byRow = this.rowValues(rows);
    let numeric: NumericProfile | null = null;
    if (byRow) {
      const values = new Float64Array(this.present);
      let k = 0;
      for (const v of byRow) if (!Number.isNaN(v)) values[k++] = v;
      numeric = numericProfile(values, bins);
    }
    const textual = type === 'STRING' || type === 'BOOLEAN' || type === 'DATE';
    return {
      name: this.name,
      index: this.index,
      type,
      nullCount: this.nullCount,
      distinctCount: this.distinct.size,
      numeric,
      text: textual
        ? { minLength: this.minLength, maxLength: this.maxLength, topValues: topValues(this.distinct, 5) }
        : null,
    };
  }
}

/** The `limit` most frequent values, count descending then value ascending (code-unit order). */
function topValues(counts: Map<string, number>, limit: number): { value: string; count: number }[] {
  const top: { value: string; count: number }[] = [];
  const worse = (a: { value: string; count: number }, b: { value: string; count: number }): boolean =>
    a.count !== b.count ? a.count < b.count : a.value > b.value;
  for (const [value, count] of counts) {
    const entry = { value, count };
    if (top.length === limit && !worse(top[limit - 1]!, entry)) continue;
    top.push(entry);
    top.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
    if (top.length > limit) top.pop();
  }
  return top;
}
