// Every field of every subgraph has an explicit shield rule; the check itself is proven on a fixture with
// a field that lacks one.
import { buildSubgraphSchema } from '@apollo/subgraph';
import { isAuthenticated, isPublic } from '@g3d/auth';
import { buildProtectedSchema, fieldsWithoutRule, loadSdl } from '@g3d/kit';
import { describe, expect, it } from 'vitest';

const fixture = loadSdl(import.meta.url, './fixtures/missing-rule.graphql');

describe('fieldsWithoutRule', () => {
  it('names the field of the fixture that has no rule', () => {
    const schema = buildSubgraphSchema({ typeDefs: fixture });
    const permissions = {
      Query: { widget: isAuthenticated, _service: isPublic, _entities: isPublic },
      Widget: { id: isAuthenticated, name: isAuthenticated },
      _Service: isPublic,
    };
    expect(fieldsWithoutRule(schema, permissions)).toEqual(['Widget.secret']);
  });

  it('accepts a type-level rule or a * rule as covering every field of the type', () => {
    const schema = buildSubgraphSchema({ typeDefs: fixture });
    expect(
      fieldsWithoutRule(schema, { Query: { '*': isAuthenticated }, Widget: isAuthenticated, _Service: isPublic }),
    ).toEqual([]);
  });

  it('lists every field when there are no rules at all', () => {
    const schema = buildSubgraphSchema({ typeDefs: fixture });
    expect(fieldsWithoutRule(schema, {})).toEqual(
      expect.arrayContaining([
        'Widget.id',
        'Widget.name',
        'Widget.secret',
        'Query.widget',
        'Query._service',
        '_Service.sdl',
      ]),
    );
  });

  it('denies a field without a rule at run time (fallbackRule: deny)', async () => {
    const { graphql } = await import('graphql');
    const schema = buildProtectedSchema({
      name: 'fixture',
      modules: [
        {
          name: 'widgets',
          typeDefs: fixture,
          rules: { Query: { widget: isPublic }, Widget: { id: isPublic, name: isPublic } },
          resolvers: { Query: { widget: () => ({ id: '1', name: 'w', secret: 's' }) } },
        },
      ],
    });
    const result = await graphql({ schema, source: '{ widget(id: "1") { id name secret } }', contextValue: {} });
    expect(result.data).toEqual({ widget: null });
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(result.errors?.[0]?.path).toEqual(['widget', 'secret']);
  });
});
