// How a function is named in the report: its declared name, `Class.method` for class members, else the name it
// is bound to (`const f = () => …`, `{ f: function () {} }`, `obj.f = …`), else 'anonymous'.
import ts from 'typescript';

function propertyName(name: ts.PropertyName | ts.BindingName): string | undefined {
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)) {
    return name.text;
  }
  if (ts.isComputedPropertyName(name)) return name.getText();
  return undefined;
}

/** The name a function or class expression is bound to by its parent, if any. */
function boundName(node: ts.Node): string | undefined {
  let parent = node.parent;
  while (
    parent &&
    (ts.isParenthesizedExpression(parent) || ts.isAsExpression(parent) || ts.isSatisfiesExpression(parent))
  ) {
    parent = parent.parent;
  }
  if (!parent) return undefined;
  if (ts.isVariableDeclaration(parent) && parent.initializer) return propertyName(parent.name);
  if (ts.isPropertyAssignment(parent)) return propertyName(parent.name);
  if (ts.isPropertyDeclaration(parent)) {
    const member = propertyName(parent.name);
    return ts.isClassLike(parent.parent) && member ? `${className(parent.parent)}.${member}` : member;
  }
  if (ts.isBinaryExpression(parent) && parent.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
    const left = parent.left;
    if (ts.isIdentifier(left) || ts.isPropertyAccessExpression(left)) return left.getText();
  }
  return undefined;
}

function className(node: ts.ClassLikeDeclaration): string {
  return node.name?.text ?? boundName(node) ?? 'anonymous';
}

export function functionName(node: ts.FunctionLikeDeclaration): string {
  if (ts.isConstructorDeclaration(node)) return `${className(node.parent)}.constructor`;
  if (ts.isMethodDeclaration(node) || ts.isGetAccessorDeclaration(node) || ts.isSetAccessorDeclaration(node)) {
    const member = propertyName(node.name) ?? 'anonymous';
    return ts.isClassLike(node.parent) ? `${className(node.parent)}.${member}` : member;
  }
  if ((ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node)) && node.name) return node.name.text;
  return boundName(node) ?? 'anonymous';
}

/** Declared parameters, not counting TypeScript's `this` pseudo-parameter. */
export function parameterCount(node: ts.FunctionLikeDeclaration): number {
  return node.parameters.filter((p) => !(ts.isIdentifier(p.name) && p.name.text === 'this')).length;
}
