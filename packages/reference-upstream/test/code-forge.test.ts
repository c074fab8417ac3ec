// code-forge against hand-computed answers: complexity per function (nested functions apart), naming, line
// counts, Halstead by hand, TypeScript's diagnostics with positions, JS vs TS, prettier formatting, and refusals
// (size, hostile nesting, bad shapes) that come back quickly and without a stack overflow.
import { describe, expect, it } from 'vitest';

import { UpstreamError } from '../src/protocol.ts';
import { codeForge } from '../src/services/code-forge.ts';
import { MAX_AST_DEPTH, maxBracketDepth } from '../src/services/code-forge/guard.ts';
import {
  CODE_ANNOTATION_SAMPLE,
  CODE_CHECK_JS_SAMPLE,
  CODE_COMPLEXITY_EXAMPLE,
  CODE_FORMAT_SAMPLE,
  CODE_FORMAT_SYNTAX_ERROR_SAMPLE,
  CODE_HALSTEAD_SAMPLE,
  CODE_HOSTILE_SOURCES,
  CODE_MODULE_SAMPLE,
  CODE_SYNTAX_ERROR_SAMPLE,
  CODE_TSX_SAMPLE,
} from './fixtures/code.ts';

const signal = new AbortController().signal;

interface Analysis {
  language: string;
  lines: { total: number; code: number; comment: number; blank: number };
  diagnostics: { kind: string; category: string; code: number; message: string; line: number; column: number }[];
  functions: { name: string; cyclomaticComplexity: number }[];
  complexity: { total: number; average: number; max: number };
  halstead: Record<string, number>;
  maintainabilityIndex: number;
}

async function analyze(body: unknown): Promise<Analysis> {
  const op = codeForge.analyzeCode!;
  return (await op.run(op.input.parse(body), { signal })) as Analysis;
}

async function format(body: unknown): Promise<{ formatted: string; changed: boolean }> {
  const op = codeForge.formatCode!;
  return (await op.run(op.input.parse(body), { signal })) as { formatted: string; changed: boolean };
}

async function refusal(work: Promise<unknown>): Promise<UpstreamError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

describe('analyzeCode', () => {
  it('counts 1 + if + for + && + || for the brief’s example', async () => {
    const result = await analyze(CODE_COMPLEXITY_EXAMPLE.input);
    expect(result.functions).toHaveLength(1);
    expect(result.functions[0]).toMatchObject(CODE_COMPLEXITY_EXAMPLE.expected);
  }, 30_000); // the first call parses the default library

  it('names and measures functions, counts lines and reports the type error', async () => {
    const { expected } = CODE_MODULE_SAMPLE;
    const result = await analyze(CODE_MODULE_SAMPLE.input);
    expect(result.language).toBe('TYPESCRIPT');
    expect(result.lines).toEqual(expected.lines);
    expect(result.functions).toEqual(expected.functions);
    expect(result.complexity).toEqual(expected.complexity);
    expect(result.diagnostics).toEqual(expected.diagnostics);
    expect(result.halstead).toEqual(expected.halstead);
    expect(result.maintainabilityIndex).toBe(expected.maintainabilityIndex);
  });

  it('counts Halstead operators and operands by the documented rule', async () => {
    const result = await analyze(CODE_HALSTEAD_SAMPLE.input);
    expect(result.halstead).toEqual(CODE_HALSTEAD_SAMPLE.expected);
  });

  it('keeps the maintainability index within 0..100', async () => {
    const empty = await analyze({ language: 'TYPESCRIPT', source: '' });
    expect(empty.maintainabilityIndex).toBe(100);
    expect(empty.lines).toEqual({ total: 0, code: 0, comment: 0, blank: 0 });
    const big = await analyze({ language: 'TYPESCRIPT', source: CODE_MODULE_SAMPLE.input.source.repeat(40) });
    expect(big.maintainabilityIndex).toBeGreaterThanOrEqual(0);
    expect(big.maintainabilityIndex).toBeLessThan(CODE_MODULE_SAMPLE.expected.maintainabilityIndex);
  });

  it('names methods, accessors, constructors, object members and anonymous functions', async () => {
    const source = [
      'class Shape { constructor() {} get area() { return 1; } static of() { return new Shape(); } }',
      'const Named = class { run() {} };',
      'const handlers = { click: () => 1, key() {} };',
      'export default function () {}',
      '[1].map(function (n) { return n; });',
    ].join('\n');
    const result = await analyze({ language: 'TYPESCRIPT', source });
    expect(result.functions.map((f) => f.name)).toEqual([
      'Shape.constructor',
      'Shape.area',
      'Shape.of',
      'Named.run',
      'click',
      'key',
      'anonymous',
      'anonymous',
    ]);
  });

  it('counts every decision kind, nested functions apart', async () => {
    const source = `function g(a: any, b: any) {
  switch (a) { case 1: break; case 2: case 3: break; default: break; }
  while (a) { a--; }
  do { a++; } while (a < 3);
  for (const k in b) { if (k) continue; }
  try { a ??= b; a ||= 1; a &&= 2; } catch { a = a ? 1 : 2; }
  const inner = () => a || b || a;
  return inner;
}`;
    const result = await analyze({ language: 'TYPESCRIPT', source });
    // 1 + 3 cases + while + do + for…in + if + ??= + ||= + &&= + catch + ?: = 13; inner: 1 + 2 = 3
    expect(result.functions.map((f) => [f.name, f.cyclomaticComplexity])).toEqual([
      ['g', 13],
      ['inner', 3],
    ]);
    expect(result.complexity).toEqual({ total: 16, average: 8, max: 13 });
  });

  it('reports a syntax error with its line and column, syntax errors first', async () => {
    const result = await analyze(CODE_SYNTAX_ERROR_SAMPLE.input);
    expect(result.diagnostics[0]).toMatchObject(CODE_SYNTAX_ERROR_SAMPLE.expected);
    const mixed = await analyze({ language: 'TYPESCRIPT', source: "const x: number = 'a';\nconst y = ;\n" });
    expect(mixed.diagnostics.map((d) => [d.kind, d.code])).toEqual([
      ['SYNTAX', 1109],
      ['SEMANTIC', 2322],
    ]);
  });

  it('tells JavaScript from TypeScript and checks JavaScript through JSDoc', async () => {
    const { source, expected } = CODE_ANNOTATION_SAMPLE;
    expect((await analyze({ language: 'TYPESCRIPT', source })).diagnostics).toEqual(expected.TYPESCRIPT);
    const js = await analyze({ language: 'JAVASCRIPT', source });
    expect(js.diagnostics).toHaveLength(1);
    expect(js.diagnostics[0]).toMatchObject(expected.JAVASCRIPT[0]);
    const checked = await analyze(CODE_CHECK_JS_SAMPLE.input);
    expect(checked.diagnostics).toEqual([expect.objectContaining(CODE_CHECK_JS_SAMPLE.expected)]);
  });

  it('checks TSX without React types and counts JSX text as code, not comments', async () => {
    const result = await analyze(CODE_TSX_SAMPLE.input);
    expect(result.diagnostics).toEqual([]);
    expect(result.functions).toEqual([expect.objectContaining(CODE_TSX_SAMPLE.expected.functions[0])]);
    const jsx = await analyze({ language: 'JSX', source: 'const a = <p>\n  // not a comment\n</p>;\n' });
    expect(jsx.lines).toEqual({ total: 3, code: 3, comment: 0, blank: 0 });
  });

  it('refuses a source over 200,000 characters', async () => {
    const error = await refusal(analyze({ language: 'TYPESCRIPT', source: ' '.repeat(200_001) }));
    expect([error.code, error.status]).toEqual(['INPUT_TOO_LARGE', 413]);
  });

  it('refuses hostile nesting quickly, without a stack overflow, and keeps working afterwards', async () => {
    for (const [name, source] of Object.entries(CODE_HOSTILE_SOURCES)) {
      const started = Date.now();
      const error = await refusal(analyze({ language: 'TYPESCRIPT', source }));
      expect([name, error.code, error.status]).toEqual([name, 'INPUT_TOO_COMPLEX', 422]);
      expect(Date.now() - started).toBeLessThan(2_000);
    }
    const after = await analyze(CODE_COMPLEXITY_EXAMPLE.input);
    expect(after.functions[0]!.cyclomaticComplexity).toBe(5);
  });

  it('accepts nesting just under the limits', async () => {
    const parens = `export const x = ${'('.repeat(250)}1${')'.repeat(250)};`;
    expect((await analyze({ language: 'TYPESCRIPT', source: parens })).diagnostics).toEqual([]);
    const depth = Math.floor(MAX_AST_DEPTH / 2) - 5; // if + block per level
    const ifs = `export function f(a: number) {${'if (a) {'.repeat(depth)}${'}'.repeat(depth)}}`;
    expect((await analyze({ language: 'TYPESCRIPT', source: ifs })).functions[0]!.cyclomaticComplexity).toBe(depth + 1);
  });

  it('refuses bad shapes', () => {
    const input = codeForge.analyzeCode!.input;
    expect(input.safeParse({ language: 'PYTHON', source: 'x' }).success).toBe(false);
    expect(input.safeParse({ language: 'TYPESCRIPT', source: 42 }).success).toBe(false);
    expect(input.safeParse({ language: 'TYPESCRIPT' }).success).toBe(false);
    expect(input.safeParse({ language: 'TYPESCRIPT', source: '', fileName: '' }).success).toBe(false);
  });
});

describe('the bracket scan', () => {
  it('skips strings, comments, template text and regular expressions', () => {
    expect(maxBracketDepth('f(a[0], { b: (1) })')).toBe(3);
    expect(maxBracketDepth('const s = "((((" + \'[[[\' + `{{{ ${(x)} }}}`; // (((\n/* [[[ */ /[(]+/.test(s)')).toBe(2);
  });
});

describe('formatCode', () => {
  it('formats and says whether anything changed', async () => {
    const { input, expected } = CODE_FORMAT_SAMPLE;
    expect(await format(input)).toEqual(expected);
    expect(await format({ ...input, source: expected.formatted })).toEqual({ ...expected, changed: false });
    const styled = await format({ ...input, singleQuote: true, semi: false });
    expect(styled.formatted).toBe(CODE_FORMAT_SAMPLE.expectedSingleQuoteNoSemi);
  });

  it('honours printWidth, tabWidth and useTabs', async () => {
    const source = 'function f() { return someFunction(argumentNumberOne, argumentNumberTwo, argumentNumberThree); }';
    const wide = await format({ language: 'JAVASCRIPT', source, printWidth: 120 });
    expect(wide.formatted.split('\n')[1]).toBe(
      '  return someFunction(argumentNumberOne, argumentNumberTwo, argumentNumberThree);',
    );
    const tabs = await format({ language: 'JAVASCRIPT', source, printWidth: 40, useTabs: true });
    expect(tabs.formatted).toContain('\n\treturn someFunction(\n\t\targumentNumberOne,');
    const four = await format({
      language: 'TSX',
      source: 'const a = <div><span>x</span></div>',
      tabWidth: 4,
      printWidth: 40,
    });
    expect(four.formatted).toContain('\n        <span>x</span>\n');
  });

  it('answers a syntax error with SYNTAX_ERROR and its position', async () => {
    const { input, expected } = CODE_FORMAT_SYNTAX_ERROR_SAMPLE;
    const error = await refusal(format(input));
    expect([error.code, error.status]).toEqual([expected.code, expected.status]);
    expect(error.message).toMatch(expected.message);
  });

  it('refuses oversize and hostile sources', async () => {
    const large = await refusal(format({ language: 'TYPESCRIPT', source: ' '.repeat(200_001) }));
    expect(large.code).toBe('INPUT_TOO_LARGE');
    for (const source of Object.values(CODE_HOSTILE_SOURCES)) {
      expect((await refusal(format({ language: 'TYPESCRIPT', source }))).code).toBe('INPUT_TOO_COMPLEX');
    }
    const classes = 'class A { m() {'.repeat(150) + '}}'.repeat(150); // prettier alone would overflow here
    expect((await refusal(format({ language: 'TYPESCRIPT', source: classes }))).code).toBe('INPUT_TOO_COMPLEX');
  });

  it('refuses bad shapes and applies defaults', () => {
    const input = codeForge.formatCode!.input;
    expect(input.safeParse({ language: 'TYPESCRIPT', source: 'x', printWidth: 39 }).success).toBe(false);
    expect(input.safeParse({ language: 'TYPESCRIPT', source: 'x', tabWidth: 9 }).success).toBe(false);
    expect(input.safeParse({ language: 'TYPESCRIPT', source: 'x', semi: 'no' }).success).toBe(false);
    expect(input.parse({ language: 'TYPESCRIPT', source: 'x' })).toEqual({
      language: 'TYPESCRIPT',
      source: 'x',
      printWidth: 80,
      tabWidth: 2,
      useTabs: false,
      semi: true,
      singleQuote: false,
    });
  });

  it('stops when the caller has gone', async () => {
    const op = codeForge.formatCode!;
    const aborted = AbortSignal.abort();
    const error = await refusal(Promise.resolve(op.run(op.input.parse(CODE_FORMAT_SAMPLE.input), { signal: aborted })));
    expect(error.code).toBe('ABORTED');
  });
});
