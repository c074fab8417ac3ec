// Deny by default, made explicit: every field of every platform subgraph has a shield rule.
import { buildSubgraphSchema } from '@apollo/subgraph';
import { AI_SERVICES, wrapperDefinition } from '@g3d/ai-services';
import { entitlementPermissions, entitlementTypeDefs } from '@g3d/entitlement';
import { identityPermissions, identityTypeDefs } from '@g3d/identity';
import { fieldsWithoutRule } from '@g3d/kit';
import { organizationPermissions, organizationTypeDefs } from '@g3d/organization';
import { PLATFORM_SUBGRAPHS } from '@g3d/platform';
import { telemetryPermissions, telemetryTypeDefs } from '@g3d/telemetry';
import type { DocumentNode } from 'graphql';
import type { IRules } from 'graphql-shield';
import { describe, expect, it } from 'vitest';

const cases: [string, DocumentNode, IRules][] = [
  ['identity', identityTypeDefs, identityPermissions({ devMailbox: false })],
  ['organization', organizationTypeDefs, organizationPermissions],
  ['entitlement', entitlementTypeDefs, entitlementPermissions],
  ['telemetry', telemetryTypeDefs, telemetryPermissions],
  ...AI_SERVICES.map((s) => {
    const definition = wrapperDefinition(s);
    return [definition.name, definition.typeDefs, definition.permissions] as [string, DocumentNode, IRules];
  }),
];

describe('shield rule coverage', () => {
  it('covers every subgraph of the platform', () => {
    expect(cases.map(([name]) => name).sort()).toEqual(PLATFORM_SUBGRAPHS.map((s) => s.name).sort());
  });

  it.each(cases)('%s: every field has an explicit rule', (_name, typeDefs, permissions) => {
    expect(fieldsWithoutRule(buildSubgraphSchema({ typeDefs }), permissions)).toEqual([]);
  });
});
