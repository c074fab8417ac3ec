// Size and complexity metrics over a parsed file, in one iterative walk of its full token tree (`getChildren`,
// which includes punctuation and keywords): never recursive, so tree depth costs heap, not stack.
// - Lines: a line with any token is code; else with a comment, comment; else blank. A final newline ends the last
//   line. JSX text counts as code where it is not blank.
// - Cyclomatic complexity: 1 + decision points (see isDecision) per function; a nested function counts its own.
//   File-level decisions belong to no function and are not counted.
// - Halstead: operands are names, literals (template pieces and JSX text included) and the value keywords true,
//   false, null, this, super, told apart by their text; operators are every other token (keywords, punctuation,
//   type keywords), told apart by kind, a bracket pair counted once at its opening bracket. JSDoc is skipped.
import ts from 'typescript';

import { checkAborted } from '../../protocol.ts';
import { functionName, parameterCount } from './names.ts';

export interface FunctionMetrics {
  name: string;
  line: number;
  column: number;
  endLine: number;
  parameters: number;
  lines: number;
  cyclomaticComplexity: number;
}

export interface Metrics {
  lines: { total: number; code: number; comment: number; blank: number };
  functions: FunctionMetrics[];
  complexity: { total: number; average: number; max: number };
  halstead: {
    operators: number;
    operands: number;
    distinctOperators: number;
    distinctOperands: number;
    volume: number;
    difficulty: number;
    effort: number;
  };
  maintainabilityIndex: number;
}

const round2 = (value: number) => Math.round(value * 100) / 100;

type Counted = ts.FunctionLikeDeclaration & { body: ts.Node };

/** Functions with a body (overload signatures and abstract methods have none and are not listed). */
function isCountedFunction(node: ts.Node): node is Counted {
  switch (node.kind) {
    case ts.SyntaxKind.FunctionDeclaration:
    case ts.SyntaxKind.FunctionExpression:
    case ts.SyntaxKind.ArrowFunction:
    case ts.SyntaxKind.MethodDeclaration:
    case ts.SyntaxKind.Constructor:
    case ts.SyntaxKind.GetAccessor:
    case ts.SyntaxKind.SetAccessor:
      return (node as ts.FunctionLikeDeclaration).body !== undefined;
    default:
      return false;
  }
}

const LOGICAL = new Set([
  ts.SyntaxKind.AmpersandAmpersandToken,
  ts.SyntaxKind.BarBarToken,
  ts.SyntaxKind.QuestionQuestionToken,
  ts.SyntaxKind.AmpersandAmpersandEqualsToken,
  ts.SyntaxKind.BarBarEqualsToken,
  ts.SyntaxKind.QuestionQuestionEqualsToken,
]);

/** A decision point: each adds one path through its function. */
function isDecision(node: ts.Node): boolean {
  switch (node.kind) {
    case ts.SyntaxKind.IfStatement:
    case ts.SyntaxKind.ConditionalExpression:
    case ts.SyntaxKind.CaseClause:
    case ts.SyntaxKind.ForStatement:
    case ts.SyntaxKind.ForInStatement:
    case ts.SyntaxKind.ForOfStatement:
    case ts.SyntaxKind.WhileStatement:
    case ts.SyntaxKind.DoStatement:
    case ts.SyntaxKind.CatchClause:
      return true;
    case ts.SyntaxKind.BinaryExpression:
      return LOGICAL.has((node as ts.BinaryExpression).operatorToken.kind);
    default:
      return false;
  }
}

/** Halstead operands: names and literals, plus the keywords that stand for values. */
const OPERAND_KINDS = new Set([
  ts.SyntaxKind.Identifier,
  ts.SyntaxKind.PrivateIdentifier,
  ts.SyntaxKind.NumericLiteral,
  ts.SyntaxKind.BigIntLiteral,
  ts.SyntaxKind.StringLiteral,
  ts.SyntaxKind.RegularExpressionLiteral,
  ts.SyntaxKind.NoSubstitutionTemplateLiteral,
  ts.SyntaxKind.TemplateHead,
  ts.SyntaxKind.TemplateMiddle,
  ts.SyntaxKind.TemplateTail,
  ts.SyntaxKind.JsxText,
  ts.SyntaxKind.TrueKeyword,
  ts.SyntaxKind.FalseKeyword,
  ts.SyntaxKind.NullKeyword,
  ts.SyntaxKind.ThisKeyword,
  ts.SyntaxKind.SuperKeyword,
]);
/** A bracket pair is one operator, counted at its opening bracket. */
const CLOSERS = new Set([
  ts.SyntaxKind.CloseParenToken,
  ts.SyntaxKind.CloseBracketToken,
  ts.SyntaxKind.CloseBraceToken,
]);

const isJsDoc = (node: ts.Node) =>
  node.kind >= ts.SyntaxKind.FirstJSDocNode && node.kind <= ts.SyntaxKind.LastJSDocNode;

const CHECK_EVERY = 4096;

export function measure(file: ts.SourceFile, signal: AbortSignal): Metrics {
  const text = file.text;
  const lineStarts = file.getLineStarts();
  // A final newline ends the last line rather than starting an empty one.
  const totalLines = text.length === 0 ? 0 : lineStarts.length - (/\r?\n$|\r$/.test(text) ? 1 : 0);
  const flags = new Uint8Array(lineStarts.length); // 1: code, 2: comment
  const lineOf = (pos: number) => file.getLineAndCharacterOfPosition(pos).line;
  const mark = (start: number, end: number, flag: number) => {
    const last = lineOf(Math.max(start, end - 1));
    for (let line = lineOf(start); line <= last; line += 1) flags[line]! |= flag;
  };
  const markComment = (pos: number, end: number) => mark(pos, end, 2);
  if (text.startsWith('#!')) mark(0, 1, 2);

  const functions: { node: Counted; complexity: number }[] = [];
  const operators = new Map<ts.SyntaxKind, number>();
  const operands = new Map<string, number>();
  let operatorTotal = 0;
  let operandTotal = 0;

  const stack: [ts.Node, number][] = [[file, -1]]; // node, index of its function in `functions` (-1: file level)
  let visited = 0;
  for (let entry = stack.pop(); entry; entry = stack.pop()) {
    if (++visited % CHECK_EVERY === 0) checkAborted(signal);
    const [node, owner] = entry;
    if (node.kind < ts.SyntaxKind.FirstNode) {
      // A token: keyword, punctuation, name or literal.
      if (node.kind === ts.SyntaxKind.JsxText) {
        if ((node as ts.JsxText).containsOnlyTriviaWhiteSpaces) continue;
        const raw = node.getText(file);
        const start = node.getStart(file) + (raw.length - raw.trimStart().length);
        mark(start, start + raw.trim().length, 1);
      } else {
        ts.forEachLeadingCommentRange(text, node.pos, markComment);
        ts.forEachTrailingCommentRange(text, node.pos, markComment);
        if (node.kind === ts.SyntaxKind.EndOfFileToken) continue;
        mark(node.getStart(file), node.end, 1);
      }
      if (OPERAND_KINDS.has(node.kind)) {
        const key = node.getText(file);
        operands.set(key, (operands.get(key) ?? 0) + 1);
        operandTotal += 1;
      } else if (!CLOSERS.has(node.kind)) {
        operators.set(node.kind, (operators.get(node.kind) ?? 0) + 1);
        operatorTotal += 1;
      }
      continue;
    }
    if (isJsDoc(node)) continue;
    let own = owner;
    if (isCountedFunction(node)) {
      own = functions.push({ node, complexity: 1 }) - 1;
    } else if (owner >= 0 && isDecision(node)) {
      functions[owner]!.complexity += 1;
    }
    const children = node.getChildren(file);
    for (let i = children.length - 1; i >= 0; i -= 1) stack.push([children[i]!, own]);
  }
  checkAborted(signal);

  let code = 0;
  let comment = 0;
  for (let line = 0; line < totalLines; line += 1) {
    if (flags[line]! & 1) code += 1;
    else if (flags[line]! & 2) comment += 1;
  }

  const listed = functions.map(({ node, complexity }): FunctionMetrics => {
    const start = file.getLineAndCharacterOfPosition(node.getStart(file));
    const endLine = lineOf(node.end) + 1;
    return {
      name: functionName(node),
      line: start.line + 1,
      column: start.character + 1,
      endLine,
      parameters: parameterCount(node),
      lines: endLine - start.line,
      cyclomaticComplexity: complexity,
    };
  });
  listed.sort((a, b) => a.line - b.line || a.column - b.column);
  const total = listed.reduce((sum, f) => sum + f.cyclomaticComplexity, 0);
  const complexity = {
    total,
    average: listed.length === 0 ? 0 : round2(total / listed.length),
    max: listed.reduce((max, f) => Math.max(max, f.cyclomaticComplexity), 0),
  };

  const distinct = operators.size + operands.size;
  const volume = distinct < 2 ? 0 : (operatorTotal + operandTotal) * Math.log2(distinct);
  const difficulty = operands.size === 0 ? 0 : (operators.size / 2) * (operandTotal / operands.size);
  const halstead = {
    operators: operatorTotal,
    operands: operandTotal,
    distinctOperators: operators.size,
    distinctOperands: operands.size,
    volume: round2(volume),
    difficulty: round2(difficulty),
    effort: round2(difficulty * volume),
  };

  // Microsoft's variant, rescaled to 0..100; ln(0) is avoided by flooring volume and lines at 1 (empty file: 100).
  const lnVolume = Math.log(Math.max(1, volume));
  const lnCode = Math.log(Math.max(1, code));
  const mi = Math.max(0, ((171 - 5.2 * lnVolume - 0.23 * total - 16.2 * lnCode) * 100) / 171);
  return {
    lines: { total: totalLines, code, comment, blank: totalLines - code - comment },
    functions: listed,
    complexity,
    halstead,
    maintainabilityIndex: round2(Math.min(100, mi)),
  };
}
