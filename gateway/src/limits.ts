// Operation limits at the edge, checked before Apollo validates or plans anything: what an anonymous caller can
// make the platform do with one request is bounded. A request's document is parsed with a token limit, then the
// selected operation is measured (depth, aliases, directives: GraphQL Armor's rules; root fields, a list-aware
// cost estimate and the credential rule: ours). Verdicts are cached by document text, so a client repeating a
// query pays one hash. Every refusal is HTTP 400 with a stable code naming the limit.
import { createHash } from 'node:crypto';

import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { errorBody, type ErrorCode } from '@g3d/errors';
import type express from 'express';
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  getNamedType,
  getNullableType,
  GraphQLError,
  type GraphQLField,
  type GraphQLSchema,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  parse,
  type SelectionSetNode,
  validate,
  type ValidationRule,
  valueFromASTUntyped,
} from 'graphql';

export interface OperationLimits {
  /** Lexical tokens in the document (bounds all later work). */
  maxTokens: number;
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxRootFields: number;
  /** Estimated fields resolved: each field 1, times the list sizes above it. */
  maxCost: number;
  /** Subgraph fetches of the query plan. */
  maxFetches: number;
}

export const DEFAULT_LIMITS: OperationLimits = {
  maxTokens: 5000,
  maxDepth: 12,
  maxAliases: 15,
  maxDirectives: 20,
  maxRootFields: 20,
  maxCost: 25_000,
  maxFetches: 40,
};

/** The size assumed for a list field without a page-size argument (`first`, `last`, `limit`). */
export const ASSUMED_LIST_SIZE = 20;
const PAGE_ARGUMENTS = ['first', 'last', 'limit'];

interface Refusal {
  status: number;
  code: ErrorCode;
  message: string;
  extensions: Record<string, unknown>;
}

export interface LimitChecker {
  /** null when the operation may run. */
  check(query: string, operationName: string | null | undefined): Refusal | null;
}

const limitExceeded = (limit: string, message: string): Refusal => ({
  status: 400,
  code: 'OPERATION_LIMIT_EXCEEDED',
  message,
  extensions: { limit },
});

/**
 * @param credentialFields root mutation fields that check a credential or send mail (`@credential` in the
 *   subgraph SDL, read from the supergraph): each may appear once per request and never aliased.
 */
export function createLimitChecker(
  schema: () => GraphQLSchema,
  limits: OperationLimits,
  credentialFields: ReadonlySet<string>,
): LimitChecker {
  const cache = new Map<string, Refusal | null>();
  const armor: [string, ValidationRule][] = [
    ['depth', maxDepthRule({ n: limits.maxDepth, ignoreIntrospection: true }) as unknown as ValidationRule],
    ['aliases', maxAliasesRule({ n: limits.maxAliases }) as unknown as ValidationRule],
    ['directives', maxDirectivesRule({ n: limits.maxDirectives }) as unknown as ValidationRule],
  ];

  const measure = (query: string, operationName: string | null | undefined): Refusal | null => {
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: limits.maxTokens, noLocation: true });
    } catch (error) {
      const message = (error as Error).message;
      if (/tokens/.test(message) && message.includes(String(limits.maxTokens)))
        return limitExceeded('tokens', `The document has more than ${limits.maxTokens} tokens`);
      return { status: 400, code: 'GRAPHQL_PARSE_FAILED', message, extensions: {} };
    }
    const resolved = selectOperation(document, operationName);
    if ('code' in resolved) return resolved;
    const operation = resolved;
    if (operation.operation === 'subscription') {
      return {
        status: 400,
        code: 'BAD_REQUEST',
        message: 'Subscriptions are not served by this gateway yet; use a query or a mutation',
        extensions: { reason: 'SUBSCRIPTIONS_NOT_SUPPORTED' },
      };
    }
    // The armor rules measure every operation of the document: measure only the selected one.
    const single: DocumentNode = {
      kind: Kind.DOCUMENT,
      definitions: [operation, ...document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION)],
    };
    for (const [limit, rule] of armor) {
      try {
        const errors = validate(schema(), single, [rule]);
        if (errors.length) return limitExceeded(limit, errors[0]?.message.replace(/^Syntax Error: /, '') ?? limit);
      } catch (error) {
        if (error instanceof GraphQLError) return limitExceeded(limit, error.message.replace(/^Syntax Error: /, ''));
        throw error;
      }
    }
    const fragments = new Map(
      document.definitions
        .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
        .map((f) => [f.name.value, f]),
    );
    const roots = rootFields(operation.selectionSet, fragments, new Set());
    if (roots.length > limits.maxRootFields)
      return limitExceeded(
        'rootFields',
        `Root fields limit of ${limits.maxRootFields} exceeded, found ${roots.length}`,
      );
    if (operation.operation === 'mutation') {
      const refusal = credentialRule(roots, credentialFields);
      if (refusal) return refusal;
    }
    const rootType = operation.operation === 'mutation' ? schema().getMutationType() : schema().getQueryType();
    const cost = rootType ? selectionCost(operation.selectionSet, rootType, fragments, new Set(), limits.maxCost) : 0;
    if (cost > limits.maxCost)
      return limitExceeded('cost', `Estimated cost limit of ${limits.maxCost} exceeded (at least ${cost})`);
    return null;
  };

  return {
    check(query, operationName) {
      const key = createHash('sha256')
        .update(operationName ?? '')
        .update('\0')
        .update(query)
        .digest('base64url');
      if (cache.has(key)) return cache.get(key) ?? null;
      const verdict = measure(query, operationName);
      if (cache.size >= 5_000) cache.delete(cache.keys().next().value as string);
      cache.set(key, verdict);
      return verdict;
    },
  };
}

function selectOperation(
  document: DocumentNode,
  operationName: string | null | undefined,
): OperationDefinitionNode | Refusal {
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  const resolution = (message: string): Refusal => ({
    status: 400,
    code: 'OPERATION_RESOLUTION_FAILURE',
    message,
    extensions: {},
  });
  if (operationName) {
    return (
      operations.find((o) => o.name?.value === operationName) ??
      resolution(`Unknown operation named "${operationName.slice(0, 100)}"`)
    );
  }
  if (operations.length === 1) return operations[0] as OperationDefinitionNode;
  return resolution(
    operations.length === 0
      ? 'The document contains no operation'
      : 'The document contains several operations: name the one to run (operationName)',
  );
}

/** The root fields of an operation, fragments expanded (a fragment spread twice counts twice). */
function rootFields(
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  visiting: Set<string>,
): FieldNode[] {
  const fields: FieldNode[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) fields.push(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT)
      fields.push(...rootFields(selection.selectionSet, fragments, visiting));
    else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      if (!fragment || visiting.has(name)) continue;
      visiting.add(name);
      fields.push(...rootFields(fragment.selectionSet, fragments, visiting));
      visiting.delete(name);
    }
  }
  return fields;
}

/** Credential operations run once per request, unaliased: one guess per request, whatever the batching. */
function credentialRule(roots: FieldNode[], credentialFields: ReadonlySet<string>): Refusal | null {
  const seen = new Set<string>();
  for (const field of roots) {
    const name = field.name.value;
    if (!credentialFields.has(name)) continue;
    const refuse = (message: string) => ({
      ...limitExceeded('credentialOperations', message),
      extensions: { limit: 'credentialOperations', field: name },
    });
    if (field.alias) return refuse(`${name} checks a credential: it may not be aliased`);
    if (seen.has(name)) return refuse(`${name} checks a credential: it may appear once per request`);
    seen.add(name);
  }
  if (seen.size > 1) {
    return limitExceeded(
      'credentialOperations',
      `One credential operation per request (found ${[...seen].join(', ')})`,
    );
  }
  return null;
}

type Composite = Parameters<typeof fieldOf>[0];

function fieldOf(type: { getFields(): Record<string, GraphQLField<unknown, unknown>> }, name: string) {
  return type.getFields()[name];
}

/** The page size a list field will return at most: its page-size argument, its default, or the assumption. */
function listSize(field: GraphQLField<unknown, unknown>, node: FieldNode): number {
  for (const name of PAGE_ARGUMENTS) {
    const argument = node.arguments?.find((a) => a.name.value === name);
    if (argument) {
      const value = valueFromASTUntyped(argument.value);
      // A variable's value is unknown here: assume the field's default (or the assumption).
      if (typeof value === 'number' && value >= 0) return value;
    }
    const declared = field.args.find((a) => a.name === name)?.defaultValue;
    if (typeof declared === 'number') return declared;
  }
  return ASSUMED_LIST_SIZE;
}

/** Each field costs 1; a list multiplies what is selected under it by its size. Stops counting past `cap`. */
function selectionCost(
  selectionSet: SelectionSetNode,
  type: Composite,
  fragments: Map<string, FragmentDefinitionNode>,
  visiting: Set<string>,
  cap: number,
): number {
  let cost = 0;
  for (const selection of selectionSet.selections) {
    if (cost > cap) return cost;
    if (selection.kind === Kind.FIELD) {
      cost += 1;
      if (!selection.selectionSet) continue;
      const field = selection.name.value.startsWith('__') ? undefined : fieldOf(type, selection.name.value);
      if (!field) continue;
      const named = getNamedType(field.type);
      const inner = isObjectType(named) || isInterfaceType(named) ? named : null;
      if (!inner) continue;
      const multiplier = isListType(getNullableType(field.type)) ? listSize(field, selection) : 1;
      cost += multiplier * selectionCost(selection.selectionSet, inner, fragments, visiting, cap);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      cost += selectionCost(selection.selectionSet, type, fragments, visiting, cap);
    } else {
      const fragment = fragments.get(selection.name.value);
      if (!fragment || visiting.has(selection.name.value)) continue;
      visiting.add(selection.name.value);
      cost += selectionCost(fragment.selectionSet, type, fragments, visiting, cap);
      visiting.delete(selection.name.value);
    }
  }
  return cost;
}

/** Express middleware: refuses a /graphql request whose operation breaks a limit, before Apollo sees it. */
export function operationLimits(checker: LimitChecker): express.RequestHandler {
  return (req, res, next) => {
    const body = (req.method === 'GET' ? req.query : req.body) as Record<string, unknown> | unknown[] | undefined;
    if (Array.isArray(body)) {
      res
        .status(400)
        .json(errorBody('BAD_REQUEST', 'Batched requests are not accepted: send one operation per request'));
      return;
    }
    const query = body?.query;
    if (typeof query !== 'string') {
      next(); // Apollo answers missing or persisted queries itself
      return;
    }
    const operationName = typeof body?.operationName === 'string' ? body.operationName : null;
    const refusal = checker.check(query, operationName);
    if (!refusal) {
      next();
      return;
    }
    res.status(refusal.status).json(errorBody(refusal.code, refusal.message, refusal.extensions));
  };
}

/** Root mutation fields marked `@credential` in the supergraph. */
export function credentialFieldsOf(supergraphSdl: string): Set<string> {
  const fields = new Set<string>();
  for (const definition of parse(supergraphSdl).definitions) {
    if (
      (definition.kind === Kind.OBJECT_TYPE_DEFINITION || definition.kind === Kind.OBJECT_TYPE_EXTENSION) &&
      definition.name.value === 'Mutation'
    ) {
      for (const field of definition.fields ?? []) {
        if (field.directives?.some((d) => d.name.value === 'credential')) fields.add(field.name.value);
      }
    }
  }
  return fields;
}
