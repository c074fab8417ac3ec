// Formatting with prettier's standalone build and explicit plugins: nothing is read from disk (no config files,
// no plugin discovery), so the same input always formats the same way.
import * as babel from 'prettier/plugins/babel';
import * as estree from 'prettier/plugins/estree';
import * as typescript from 'prettier/plugins/typescript';
import { format } from 'prettier/standalone';

import { UpstreamError } from '../../protocol.ts';
import type { Language } from './program.ts';

export interface FormatOptions {
  printWidth: number;
  tabWidth: number;
  useTabs: boolean;
  semi: boolean;
  singleQuote: boolean;
}

const PARSERS: Record<Language, { parser: string; filepath: string }> = {
  TYPESCRIPT: { parser: 'typescript', filepath: 'input.ts' },
  TSX: { parser: 'typescript', filepath: 'input.tsx' },
  JAVASCRIPT: { parser: 'babel', filepath: 'input.js' },
  JSX: { parser: 'babel', filepath: 'input.jsx' },
};

interface PrettierSyntaxError {
  loc: { start: { line: number; column: number } };
  message: string;
}

const isSyntaxError = (error: unknown): error is PrettierSyntaxError =>
  error instanceof Error && typeof (error as Partial<PrettierSyntaxError>).loc?.start?.line === 'number';

export async function formatSource(source: string, language: Language, options: FormatOptions): Promise<string> {
  try {
    return await format(source, { ...PARSERS[language], plugins: [babel, estree, typescript], ...options });
  } catch (error) {
    if (!isSyntaxError(error)) throw error;
    const { line, column } = error.loc.start;
    // prettier's message repeats the position and appends a code frame: keep its first line.
    const reason = error.message.split('\n')[0]!.replace(/\s*\(\d+:\d+\)$/, '');
    throw new UpstreamError('SYNTAX_ERROR', `Syntax error at line ${line}, column ${column}: ${reason}`, 422);
  }
}
