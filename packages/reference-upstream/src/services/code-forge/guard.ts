// Guards that keep hostile sources from exhausting the stack: the TypeScript parser and checker and prettier's
// printer all recurse once (or several times) per level of nesting, so a source is refused before it reaches them.
import ts from 'typescript';

import { UpstreamError } from '../../protocol.ts';

export const MAX_SOURCE_CHARS = 200_000;
/** Bracket nesting (`(`, `[`, `{`, `${`) measured before parsing: the parser overflows at about 750. */
export const MAX_BRACKET_DEPTH = 500;
/**
 * Syntax tree depth measured after parsing, before type checking or formatting: brace-less chains (`a ? b : c ? …`,
 * `x => y => …`, `a.b.c…`, `!!!…`) nest without brackets, and prettier overflows at about 400 levels of nested
 * classes. Real code stays well under 100.
 */
export const MAX_AST_DEPTH = 300;

export function checkSize(source: string): void {
  if (source.length > MAX_SOURCE_CHARS) {
    throw new UpstreamError('INPUT_TOO_LARGE', `The source is longer than ${MAX_SOURCE_CHARS} characters`, 413);
  }
}

function tooComplex(what: string): UpstreamError {
  return new UpstreamError('INPUT_TOO_COMPLEX', `The source is nested too deeply (${what})`, 422);
}

/** Character codes the scan looks at. */
const C = {
  Tab: 9,
  LF: 10,
  CR: 13,
  Quote: 34,
  Dollar: 36,
  Apostrophe: 39,
  OpenParen: 40,
  CloseParen: 41,
  Star: 42,
  Slash: 47,
  OpenBracket: 91,
  Backslash: 92,
  CloseBracket: 93,
  Backtick: 96,
  OpenBrace: 123,
  CloseBrace: 125,
} as const;

const isWordChar = (c: number) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === C.Dollar || c > 127;
const isSpace = (c: number) => c === 32 || c === C.Tab || c === C.LF || c === C.CR;
/** Words after which `/` starts a regular expression rather than a division. */
const REGEX_AFTER_WORD = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw']);
REGEX_AFTER_WORD.add('case').add('do').add('else').add('yield').add('await');

/**
 * The deepest bracket nesting of `source`, in one linear pass that skips comments, strings, template text and
 * (heuristically) regular expressions. An estimate: whatever it misses the stack-overflow catch still refuses.
 */
export function maxBracketDepth(source: string): number {
  const n = source.length;
  let depth = 0;
  let max = 0;
  const templateDepths: number[] = []; // depth at which each open `${` started
  let regexAllowed = true;
  let i = 0;
  // Scans template text from `i` (just after a backtick or a closing `}`) to its end or to a `${` (true).
  const scanTemplate = (): boolean => {
    while (i < n) {
      const c = source.charCodeAt(i);
      if (c === C.Backslash) i += 2;
      else if (c === C.Backtick) {
        i += 1;
        return false;
      } else if (c === C.Dollar && source.charCodeAt(i + 1) === C.OpenBrace) {
        i += 2;
        depth += 1;
        if (depth > max) max = depth;
        templateDepths.push(depth);
        return true;
      } else i += 1;
    }
    return false;
  };
  while (i < n) {
    const c = source.charCodeAt(i);
    if (isSpace(c)) {
      i += 1;
    } else if (c === C.Slash && source.charCodeAt(i + 1) === C.Slash) {
      while (i < n && source.charCodeAt(i) !== C.LF) i += 1;
    } else if (c === C.Slash && source.charCodeAt(i + 1) === C.Star) {
      const end = source.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === C.Slash && regexAllowed) {
      let inClass = false;
      for (i += 1; i < n; i += 1) {
        const r = source.charCodeAt(i);
        if (r === C.LF) break;
        if (r === C.Backslash) i += 1;
        else if (r === C.OpenBracket) inClass = true;
        else if (r === C.CloseBracket) inClass = false;
        else if (r === C.Slash && !inClass) break;
      }
      i += 1;
      regexAllowed = false;
    } else if (c === C.Quote || c === C.Apostrophe) {
      for (i += 1; i < n; i += 1) {
        const s = source.charCodeAt(i);
        if (s === C.Backslash) i += 1;
        else if (s === c || s === C.LF) break;
      }
      i += 1;
      regexAllowed = false;
    } else if (c === C.Backtick) {
      i += 1;
      regexAllowed = scanTemplate();
    } else if (c === C.OpenParen || c === C.OpenBracket || c === C.OpenBrace) {
      depth += 1;
      if (depth > max) max = depth;
      i += 1;
      regexAllowed = true;
    } else if (c === C.CloseBrace && templateDepths.at(-1) === depth) {
      templateDepths.pop();
      depth -= 1;
      i += 1;
      regexAllowed = scanTemplate();
    } else if (c === C.CloseParen || c === C.CloseBracket || c === C.CloseBrace) {
      if (depth > 0) depth -= 1;
      i += 1;
      regexAllowed = c === C.CloseBrace;
    } else if (isWordChar(c)) {
      const start = i;
      while (i < n && isWordChar(source.charCodeAt(i))) i += 1;
      regexAllowed = REGEX_AFTER_WORD.has(source.slice(start, i));
    } else {
      i += 1;
      regexAllowed = true;
    }
  }
  return max;
}

/** Refuses a source whose brackets nest deeper than the parser can take (call before parsing). */
export function checkBracketDepth(source: string): void {
  const depth = maxBracketDepth(source);
  if (depth > MAX_BRACKET_DEPTH) throw tooComplex(`${depth} levels of brackets, at most ${MAX_BRACKET_DEPTH}`);
}

/** The depth of the syntax tree, walked with an explicit stack. */
export function astDepth(root: ts.Node): number {
  let max = 0;
  const stack: [ts.Node, number][] = [[root, 0]];
  for (let entry = stack.pop(); entry; entry = stack.pop()) {
    const [node, depth] = entry;
    if (depth > max) max = depth;
    ts.forEachChild(node, (child) => {
      stack.push([child, depth + 1]);
    });
  }
  return max;
}

/** Refuses a parsed source whose tree is deeper than the checker and prettier can take. */
export function checkAstDepth(root: ts.Node): void {
  const depth = astDepth(root);
  if (depth > MAX_AST_DEPTH) throw tooComplex(`a syntax tree ${depth} levels deep, at most ${MAX_AST_DEPTH}`);
}

const isStackOverflow = (error: unknown) => error instanceof RangeError && /call stack/i.test(error.message);

/** Runs `work`, answering a stack overflow the guards did not foresee as INPUT_TOO_COMPLEX (the last line). */
export async function withStackGuard<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isStackOverflow(error)) throw tooComplex('the stack overflowed');
    throw error;
  }
}
