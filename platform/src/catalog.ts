// Every service of the platform, its default port and how to build it. The compose script, the all-in-one
// launcher and the single-service mode all read this list.
import { AI_SERVICES, subgraphName, wrapperSdl } from '@g3d/ai-services';
import { entitlementTypeDefs } from '@g3d/entitlement';
import { identityTypeDefs } from '@g3d/identity';
import { organizationTypeDefs } from '@g3d/organization';
import { telemetryTypeDefs } from '@g3d/telemetry';
import { type DocumentNode, parse } from 'graphql';

import type { PlatformConfig } from './config.ts';

export interface SubgraphEntry {
  name: string;
  typeDefs: DocumentNode;
  port: (config: PlatformConfig) => number;
  defaultPort: number;
  usesDatabase: boolean;
}

export const PLATFORM_SUBGRAPHS: SubgraphEntry[] = [
  { name: 'identity', typeDefs: identityTypeDefs, port: (c) => c.IDENTITY_PORT, defaultPort: 4001, usesDatabase: true },
  {
    name: 'organization',
    typeDefs: organizationTypeDefs,
    port: (c) => c.ORGANIZATION_PORT,
    defaultPort: 4002,
    usesDatabase: true,
  },
  {
    name: 'entitlement',
    typeDefs: entitlementTypeDefs,
    port: (c) => c.ENTITLEMENT_PORT,
    defaultPort: 4003,
    usesDatabase: true,
  },
  {
    name: 'telemetry',
    typeDefs: telemetryTypeDefs,
    port: (c) => c.TELEMETRY_PORT,
    defaultPort: 4004,
    usesDatabase: false,
  },
  ...AI_SERVICES.map((service, index) => ({
    name: subgraphName(service.slug),
    typeDefs: parse(wrapperSdl(service)),
    port: (c: PlatformConfig) => (c.AI_PORT_BASE === 0 ? 0 : c.AI_PORT_BASE + index + 1),
    defaultPort: 4100 + index + 1,
    usesDatabase: false,
  })),
];

export function findSubgraph(name: string): SubgraphEntry | undefined {
  return PLATFORM_SUBGRAPHS.find((s) => s.name === name);
}
