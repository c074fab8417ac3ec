// A module owns one slice of a subgraph's API in one folder: its SDL, its resolvers, its shield rules (and
// the services and repositories they call). A subgraph is a list of modules; the kit merges them and refuses
// two modules that claim the same field or rule, so ownership stays unambiguous.
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { isPublic } from '@g3d/auth';
import type { DocumentNode, GraphQLScalarType } from 'graphql';
import type { and, IRule, IRules } from 'graphql-shield';

import { DateTime, JSONScalar } from './scalars.ts';
import type { BaseContext } from './subgraph.ts';

/** A shield rule or a combination (and/or/not). */
export type ShieldRule = IRule | ReturnType<typeof and>;

/** Shield rules of a module: a rule per type, or per field (`'*'` for every field of the type). */
export type ModuleRules = Record<string, ShieldRule | Record<string, ShieldRule>>;

export interface SubgraphModule<TContext = unknown> {
  /** The folder's name: shows up in conflict messages. */
  name: string;
  /** The module's SDL (`loadSdl(import.meta.url, './schema.graphql')`); it extends Query/Mutation/entities. */
  typeDefs: DocumentNode;
  resolvers?: GraphQLResolverMap<TContext>;
  /** A rule for every field the module's SDL declares (deny by default catches the rest). */
  rules: ModuleRules;
  /**
   * Root fields (`Query.me`, `Mutation.confirmMfaEnrollment`) a caller whose organization enforces MFA may use
   * before enrolling; every other root field, `_entities` included, answers MFA_REQUIRED to them.
   */
  mfaEnrolmentFields?: readonly string[];
}

/** Declares a module (the identity function, for type inference of the context). */
export function defineModule<TContext>(module: SubgraphModule<TContext>): SubgraphModule<TContext> {
  return module;
}

export interface MergedModules<TContext> {
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<TContext>;
  rules: IRules;
  mfaEnrolmentFields: string[];
}

/** Scalars every subgraph may declare; their implementation comes with the kit. */
const SHARED_SCALARS: Record<string, GraphQLScalarType> = { DateTime, JSON: JSONScalar };

const isFieldMap = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;

/**
 * One SDL document, one resolver map and one rule tree from the modules. Federation's own fields
 * (`_service`, `_entities`) are public, and the shared scalars are resolved, without each module saying so.
 */
export function mergeModules<TContext>(
  subgraph: string,
  modules: readonly SubgraphModule<TContext>[],
): MergedModules<TContext> {
  const owner = new Map<string, string>();
  const claim = (key: string, module: string, what: string) => {
    const previous = owner.get(`${what}:${key}`);
    if (previous) throw new Error(`${subgraph}: ${what} ${key} is defined by both ${previous} and ${module}`);
    owner.set(`${what}:${key}`, module);
  };
  const resolvers: Record<string, Record<string, unknown> | GraphQLScalarType> = {};
  const rules: Record<string, ShieldRule | Record<string, ShieldRule>> = {
    Query: { _service: isPublic, _entities: isPublic },
    _Service: isPublic,
  };
  const declared = new Set<string>();
  for (const module of modules) {
    for (const definition of module.typeDefs.definitions) {
      if (definition.kind === 'ScalarTypeDefinition') declared.add(definition.name.value);
    }
    for (const [type, fields] of Object.entries(module.resolvers ?? {})) {
      if (!isFieldMap(fields)) {
        claim(type, module.name, 'resolver');
        resolvers[type] = fields as GraphQLScalarType;
        continue;
      }
      const target = (resolvers[type] ??= {}) as Record<string, unknown>;
      for (const [field, resolver] of Object.entries(fields)) {
        claim(`${type}.${field}`, module.name, 'resolver');
        target[field] = resolver;
      }
    }
    for (const [type, rule] of Object.entries(module.rules)) {
      if (!isFieldMap(rule)) {
        claim(type, module.name, 'rule for type');
        if (rules[type] !== undefined && type !== '_Service')
          throw new Error(`${subgraph}: type ${type} has field rules and a type rule (${module.name})`);
        rules[type] = rule;
        continue;
      }
      const existing = rules[type];
      if (existing !== undefined && !isFieldMap(existing))
        throw new Error(`${subgraph}: type ${type} has a type rule and field rules (${module.name})`);
      const target = (rules[type] ??= {}) as Record<string, ShieldRule>;
      for (const [field, fieldRule] of Object.entries(rule)) {
        claim(`${type}.${field}`, module.name, 'rule for');
        target[field] = fieldRule;
      }
    }
  }
  for (const scalar of declared) {
    const implementation = SHARED_SCALARS[scalar];
    if (implementation && resolvers[scalar] === undefined) resolvers[scalar] = implementation;
  }
  return {
    typeDefs: {
      kind: 'Document' as DocumentNode['kind'],
      definitions: modules.flatMap((m) => m.typeDefs.definitions),
    },
    resolvers: resolvers as GraphQLResolverMap<TContext>,
    rules: rules as IRules,
    mfaEnrolmentFields: modules.flatMap((m) => m.mfaEnrolmentFields ?? []),
  };
}

/** A subgraph's base SDL (the federation `@link`, shared scalars, enums) as a module without fields of its own. */
export function baseModule(typeDefs: DocumentNode): SubgraphModule<BaseContext> {
  return { name: 'base', typeDefs, rules: {} };
}
