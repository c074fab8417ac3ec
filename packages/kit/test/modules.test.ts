// Modules merge into one subgraph; two modules claiming the same field (resolver or rule) are refused, so a
// field always has one owner.
import { isAuthenticated, isPublic } from '@g3d/auth';
import { defineModule, mergeModules } from '@g3d/kit';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';

const users = defineModule({
  name: 'users',
  typeDefs: parse('scalar DateTime\ntype User { id: ID! createdAt: DateTime! }\ntype Query { me: User }'),
  rules: { Query: { me: isPublic }, User: { id: isAuthenticated, createdAt: isAuthenticated } },
  resolvers: { Query: { me: () => null } },
  mfaEnrolmentFields: ['Query.me'],
});
const sessions = defineModule({
  name: 'sessions',
  typeDefs: parse('type Session { id: ID! }\nextend type Query { mySessions: [Session!]! }'),
  rules: { Query: { mySessions: isAuthenticated }, Session: isAuthenticated },
  resolvers: { Query: { mySessions: () => [] } },
});

describe('mergeModules', () => {
  it('merges SDL, resolvers, rules and MFA enrolment fields; adds federation rules and shared scalars', () => {
    const merged = mergeModules('identity', [users, sessions]);
    expect(merged.typeDefs.definitions).toHaveLength(5);
    expect(Object.keys((merged.resolvers as Record<string, object>).Query ?? {})).toEqual(['me', 'mySessions']);
    expect((merged.resolvers as Record<string, unknown>).DateTime).toBeDefined();
    const rules = merged.rules as Record<string, Record<string, unknown>>;
    expect(Object.keys(rules.Query ?? {}).sort()).toEqual(['_entities', '_service', 'me', 'mySessions']);
    expect(rules._Service).toBe(isPublic);
    expect(merged.mfaEnrolmentFields).toEqual(['Query.me']);
  });

  it('refuses two modules that resolve the same field', () => {
    const clash = defineModule({ ...sessions, name: 'clash', rules: {}, resolvers: { Query: { me: () => null } } });
    expect(() => mergeModules('identity', [users, clash])).toThrow(/Query\.me is defined by both users and clash/);
  });

  it('refuses two modules that rule the same field, or a type rule beside field rules', () => {
    const sameRule = defineModule({ ...sessions, name: 'again', resolvers: {}, rules: { Query: { me: isPublic } } });
    expect(() => mergeModules('identity', [users, sameRule])).toThrow(/rule for Query\.me/);
    const typeRule = defineModule({ ...sessions, name: 'typed', resolvers: {}, rules: { User: isPublic } });
    expect(() => mergeModules('identity', [users, typeRule])).toThrow(/type User has/);
  });
});
