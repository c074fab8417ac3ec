// Deny by default is the safety net; this check makes every field an explicit decision. The test in each
// subgraph (and test/rule-coverage.test.ts) fails when a field of its schema has no shield rule.
import { type GraphQLSchema, isObjectType } from 'graphql';
import type { IRules } from 'graphql-shield';

const isFieldMap = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;

/** Fields (`Type.field`) of the schema's object types that no rule covers, neither per field nor per type. */
export function fieldsWithoutRule(schema: GraphQLSchema, permissions: IRules): string[] {
  const rules = permissions as Record<string, unknown>;
  const missing: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const typeRule = rules[type.name];
    for (const field of Object.keys(type.getFields())) {
      const covered =
        typeRule !== undefined &&
        (!isFieldMap(typeRule) || typeRule[field] !== undefined || typeRule['*'] !== undefined);
      if (!covered) missing.push(`${type.name}.${field}`);
    }
  }
  return missing;
}
