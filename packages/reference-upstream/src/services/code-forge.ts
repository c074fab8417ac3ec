// code-forge: static analysis (TypeScript compiler diagnostics, per-function cyclomatic complexity, Halstead
// measures, maintainability index) and prettier formatting of one TypeScript or JavaScript source.
import ts from 'typescript';
import { z } from 'zod';

import { checkAborted, operation, type ServiceOperations } from '../protocol.ts';
import { formatSource } from './code-forge/format.ts';
import { checkAstDepth, checkBracketDepth, checkSize, withStackGuard } from './code-forge/guard.ts';
import { measure } from './code-forge/metrics.ts';
import {
  createProgram,
  type Diagnostic,
  MAX_DIAGNOSTICS,
  scriptKind,
  semanticDiagnostics,
  syntacticDiagnostics,
} from './code-forge/program.ts';

const language = z.enum(['TYPESCRIPT', 'JAVASCRIPT', 'TSX', 'JSX']);

const analyzeInput = z.object({
  source: z.string(),
  language,
  fileName: z.string().min(1).max(255).optional(),
});

/**
 * Diagnostics (syntactic first, each group by position, at most 200), functions in source order, and metrics.
 * `complexity` covers the listed functions only: decisions in file-level code belong to no function.
 */
const analyzeCode = operation(analyzeInput, async ({ source, language, fileName }, { signal }) => {
  checkSize(source);
  checkBracketDepth(source);
  checkAborted(signal);
  return withStackGuard(() => {
    const analysed = createProgram(source, language, fileName);
    checkAstDepth(analysed.file);
    let diagnostics: Diagnostic[] = syntacticDiagnostics(analysed);
    checkAborted(signal);
    if (diagnostics.length < MAX_DIAGNOSTICS) diagnostics = diagnostics.concat(semanticDiagnostics(analysed));
    checkAborted(signal);
    const metrics = measure(analysed.file, signal);
    return {
      language,
      lines: metrics.lines,
      diagnostics: diagnostics.slice(0, MAX_DIAGNOSTICS),
      functions: metrics.functions,
      complexity: metrics.complexity,
      halstead: metrics.halstead,
      maintainabilityIndex: metrics.maintainabilityIndex,
    };
  });
});

const formatInput = z.object({
  source: z.string(),
  language,
  printWidth: z.number().int().min(40).max(200).default(80),
  tabWidth: z.number().int().min(1).max(8).default(2),
  useTabs: z.boolean().default(false),
  semi: z.boolean().default(true),
  singleQuote: z.boolean().default(false),
});

const formatCode = operation(formatInput, async ({ source, language, ...options }, { signal }) => {
  checkSize(source);
  checkBracketDepth(source);
  // prettier recurses per level of the tree: measure it with TypeScript's (cheap, iterative-walked) parse first.
  await withStackGuard(() =>
    checkAstDepth(ts.createSourceFile('input', source, ts.ScriptTarget.ES2022, false, scriptKind(language))),
  );
  checkAborted(signal);
  const formatted = await withStackGuard(() => formatSource(source, language, options));
  return { formatted, changed: formatted !== source };
});

export const codeForge: ServiceOperations = { analyzeCode, formatCode };
