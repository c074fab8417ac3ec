// An in-memory TypeScript program over the one analysed file plus the default library. The library's files are
// read from node_modules/typescript/lib once and their parsed (and bound) SourceFiles reused by every program: they
// are immutable once bound, as in the language service's document registry, and parsing lib.dom.d.ts costs a second.
import path from 'node:path';

import ts from 'typescript';

export type Language = 'TYPESCRIPT' | 'JAVASCRIPT' | 'TSX' | 'JSX';

export interface Diagnostic {
  kind: 'SYNTAX' | 'SEMANTIC';
  category: 'ERROR' | 'WARNING' | 'SUGGESTION' | 'MESSAGE';
  code: number;
  message: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export const MAX_DIAGNOSTICS = 200;

const EXTENSIONS: Record<Language, string> = { TYPESCRIPT: '.ts', JAVASCRIPT: '.js', TSX: '.tsx', JSX: '.jsx' };
const SCRIPT_KINDS: Record<Language, ts.ScriptKind> = {
  TYPESCRIPT: ts.ScriptKind.TS,
  JAVASCRIPT: ts.ScriptKind.JS,
  TSX: ts.ScriptKind.TSX,
  JSX: ts.ScriptKind.JSX,
};

export const scriptKind = (language: Language) => SCRIPT_KINDS[language];

/** The in-memory file name: the caller's base name (if any) with the extension the language implies. */
export function virtualFileName(language: Language, fileName?: string): string {
  const base = fileName ? path.posix.basename(fileName.replaceAll('\\', '/')).replace(/\.[^.]*$/, '') : '';
  // No dots: `x.d` + `.ts` would make a declaration file, which is not checked.
  const safe = base.replace(/[^\w-]/g, '_') || 'input';
  return `/src/${safe}${EXTENSIONS[language]}`;
}

function compilerOptions(language: Language): ts.CompilerOptions {
  const js = language === 'JAVASCRIPT' || language === 'JSX';
  const jsx = language === 'TSX' || language === 'JSX';
  return {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    // Every file a module, so top-level names do not collide with lib.dom's globals (`name`, `status`, …).
    moduleDetection: ts.ModuleDetectionKind.Force,
    // Nothing but the file and the library: imports stay unresolved (TS2307) rather than probing the disk.
    noResolve: true,
    types: [],
    skipLibCheck: true,
    ...(js ? { allowJs: true, checkJs: true } : {}),
    ...(jsx ? { jsx: ts.JsxEmit.Preserve } : {}),
  };
}

const LIB_DIR = path.dirname(ts.getDefaultLibFilePath(compilerOptions('TYPESCRIPT')));
/** Intrinsic elements typed loosely, so JSX without React's types is checked rather than drowned in TS7026. */
const JSX_SHIM_NAME = '/src/__jsx-shim.d.ts';
const JSX_SHIM = `declare namespace JSX {
  interface Element {}
  interface ElementClass {}
  interface IntrinsicElements { [name: string]: any }
}
`;

const libCache = new Map<string, ts.SourceFile | undefined>();

function isLibFile(fileName: string): boolean {
  return path.dirname(fileName) === LIB_DIR && /^lib\.[\w.]+\.d\.ts$/.test(path.basename(fileName));
}

function cachedLib(fileName: string): ts.SourceFile | undefined {
  if (!libCache.has(fileName)) {
    const text = fileName === JSX_SHIM_NAME ? JSX_SHIM : isLibFile(fileName) ? ts.sys.readFile(fileName) : undefined;
    const file = text === undefined ? undefined : ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022);
    libCache.set(fileName, file);
  }
  return libCache.get(fileName);
}

export interface AnalysedProgram {
  program: ts.Program;
  file: ts.SourceFile;
}

/**
 * Creates the program (which parses the source, with parent pointers); binding and checking wait for the
 * diagnostics calls, so the caller can refuse a too-deep tree first.
 */
export function createProgram(source: string, language: Language, fileName?: string): AnalysedProgram {
  const options = compilerOptions(language);
  const name = virtualFileName(language, fileName);
  const host: ts.CompilerHost = {
    getSourceFile: (requested, languageVersion) =>
      requested === name
        ? ts.createSourceFile(name, source, languageVersion, true, scriptKind(language))
        : cachedLib(requested),
    getDefaultLibFileName: (opts) => ts.getDefaultLibFilePath(opts),
    writeFile: () => {},
    getCurrentDirectory: () => '/src',
    getCanonicalFileName: (f) => f,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => '\n',
    fileExists: (f) => f === name || f === JSX_SHIM_NAME || isLibFile(f),
    readFile: (f) =>
      f === name ? source : f === JSX_SHIM_NAME ? JSX_SHIM : isLibFile(f) ? ts.sys.readFile(f) : undefined,
    directoryExists: (d) => d === '/src' || d === LIB_DIR,
    getDirectories: () => [],
  };
  const roots = language === 'TSX' || language === 'JSX' ? [name, JSX_SHIM_NAME] : [name];
  const program = ts.createProgram(roots, options, host);
  const file = program.getSourceFile(name);
  if (!file) throw new Error('The program lost its source file');
  return { program, file };
}

const CATEGORIES: Record<ts.DiagnosticCategory, Diagnostic['category']> = {
  [ts.DiagnosticCategory.Error]: 'ERROR',
  [ts.DiagnosticCategory.Warning]: 'WARNING',
  [ts.DiagnosticCategory.Suggestion]: 'SUGGESTION',
  [ts.DiagnosticCategory.Message]: 'MESSAGE',
};

function toDiagnostic(kind: Diagnostic['kind'], file: ts.SourceFile, d: ts.Diagnostic): Diagnostic {
  const startPos = d.start ?? 0;
  const start = file.getLineAndCharacterOfPosition(startPos);
  const end = file.getLineAndCharacterOfPosition(startPos + (d.length ?? 0));
  return {
    kind,
    category: CATEGORIES[d.category],
    code: d.code,
    message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    line: start.line + 1,
    column: start.character + 1,
    endLine: end.line + 1,
    endColumn: end.character + 1,
  };
}

const byPosition = (a: ts.Diagnostic, b: ts.Diagnostic) =>
  (a.start ?? 0) - (b.start ?? 0) || (a.length ?? 0) - (b.length ?? 0) || a.code - b.code;

export function syntacticDiagnostics({ program, file }: AnalysedProgram): Diagnostic[] {
  return [...program.getSyntacticDiagnostics(file)].sort(byPosition).map((d) => toDiagnostic('SYNTAX', file, d));
}

/** Type checks the file (bounded in time by the source size cap: a 200,000-character file checks in seconds). */
export function semanticDiagnostics({ program, file }: AnalysedProgram): Diagnostic[] {
  return [...program.getSemanticDiagnostics(file)].sort(byPosition).map((d) => toDiagnostic('SEMANTIC', file, d));
}
