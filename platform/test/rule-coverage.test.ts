// Deny by default, made explicit: every field of every subgraph of the manifest has a shield rule.
import { buildSubgraphSchema } from '@apollo/subgraph';
import { fieldsWithoutRule, mergeModules } from '@g3d/kit';
import { subgraphDefinitions } from '@g3d/platform';
import { describe, expect, it } from 'vitest';

const subgraphs = await subgraphDefinitions();

describe('shield rule coverage', () => {
  it.each(subgraphs.map(({ declaration, definition }) => [declaration.name, definition.schema(declaration)] as const))(
    '%s: every field has an explicit rule',
    (_name, schema) => {
      const merged = mergeModules(schema.name, schema.modules);
      expect(fieldsWithoutRule(buildSubgraphSchema({ typeDefs: merged.typeDefs }), merged.rules)).toEqual([]);
    },
  );
});
