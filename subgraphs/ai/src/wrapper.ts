// One wrapper subgraph per AI service, built from its registry entry (packages/manifest). For now each exposes
// its service description; the operations mapped to its upstream come with the AI services issue. Answering it
// is an invocation: decided by the organization's entitlements (plan, quotas, the registry's rate limit per
// caller) and metered, like every operation will be.
import { hasScope, isPlatformAdmin, or } from '@g3d/auth';
import { defineModule, type SubgraphSchemaDefinition } from '@g3d/kit';
import { aiFieldName, type AiServiceFacts, aiServiceName } from '@g3d/manifest';
import { parse } from 'graphql';

import type { AiContext } from './invocation.ts';

export function wrapperSdl(service: AiServiceFacts): string {
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
  "${service.name}: ${service.domain} (requires ${service.scope}:read)."
  ${aiFieldName(service.slug)}: AiService!
}
`;
}

/**
 * The wrapper's one module: the service description, for callers holding its read scope (platform
 * administrators too), within their organization's entitlements.
 */
export function wrapperSchema(service: AiServiceFacts): SubgraphSchemaDefinition<AiContext> {
  const canRead = or(hasScope(`${service.scope}:read`), isPlatformAdmin);
  const field = aiFieldName(service.slug);
  const describe = async () => ({
    slug: service.slug,
    name: service.name,
    domain: service.domain,
    rateLimitPer15Min: service.rateLimitPer15Min,
    timeoutMs: service.timeoutSeconds * 1000,
    readScope: `${service.scope}:read`,
    writeScope: `${service.scope}:write`,
  });
  const description = defineModule<AiContext>({
    name: service.slug,
    typeDefs: parse(wrapperSdl(service)),
    rules: { Query: { [field]: canRead }, AiService: canRead },
    resolvers: {
      Query: {
        [field]: (_parent, _args, ctx: AiContext) =>
          ctx.gate.invoke(
            ctx.caller,
            { service: service.slug, operation: field, idempotencyKey: ctx.idempotencyKey },
            describe,
            (summary) => ctx.entitlements.set(service.slug, summary),
          ),
      },
    },
  });
  return { name: aiServiceName(service.slug), modules: [description] };
}
