// One wrapper subgraph per AI service, built from its registry entry. For now each exposes its service
// description; the operations mapped to its upstream come with the AI services issue.
import { hasScope, isPlatformAdmin, isPublic, or } from '@g3d/auth';
import { createSubgraph, type SubgraphDefinition, type SubgraphDeps } from '@g3d/kit';
import { parse } from 'graphql';

import { type AiServiceEntry, fieldName, subgraphName } from './registry.ts';

export function wrapperSdl(service: AiServiceEntry): string {
  return `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@shareable"])

"An AI service fronted by the platform."
type AiService @shareable {
  slug: String!
  name: String!
  domain: String!
  "Requests per caller per 15 minutes."
  rateLimitPer15Min: Int!
  timeoutMs: Int!
  readScope: String!
  writeScope: String!
}

type Query {
  "${service.name}: ${service.domain} (requires ${service.scopes.read})."
  ${fieldName(service.slug)}: AiService!
}
`;
}

export function wrapperDefinition(service: AiServiceEntry): SubgraphDefinition<object> {
  const canRead = or(hasScope(service.scopes.read), isPlatformAdmin);
  return {
    name: subgraphName(service.slug),
    typeDefs: parse(wrapperSdl(service)),
    permissions: {
      Query: { [fieldName(service.slug)]: canRead, _service: isPublic },
      AiService: canRead,
      _Service: isPublic,
    },
    createContext: () => ({}),
    resolvers: {
      Query: {
        [fieldName(service.slug)]: () => ({
          slug: service.slug,
          name: service.name,
          domain: service.domain,
          rateLimitPer15Min: service.rateLimitPer15Min,
          timeoutMs: service.timeoutMs,
          readScope: service.scopes.read,
          writeScope: service.scopes.write,
        }),
      },
    },
  };
}

export function createAiService(service: AiServiceEntry, deps: SubgraphDeps) {
  return createSubgraph(wrapperDefinition(service), deps);
}
