// The gateway's settings besides the common ones (README's configuration table documents each).
import { optionalBooleanFlag, z } from '@g3d/config';

import { DEFAULT_LIMITS } from './limits.ts';

const between = (min: number, max: number, fallback: number) =>
  z.coerce
    .number({ error: `must be a number from ${min} to ${max}` })
    .int(`must be a whole number from ${min} to ${max}`)
    .min(min, `must be a number from ${min} to ${max}`)
    .max(max, `must be a number from ${min} to ${max}`)
    .default(fallback);

const origins = z
  .string()
  .refine(
    (value) =>
      value.split(',').every((origin) => {
        try {
          const url = new URL(origin.trim());
          return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === origin.trim();
        } catch {
          return false;
        }
      }),
    'must be origins (scheme://host[:port], no path), comma separated',
  )
  .transform((value) => value.split(',').map((origin) => origin.trim()));

export const gatewayConfig = z.object({
  /** The gateway's Ed25519 private JWK (JSON); unset: DATA_DIR/keys (generated at first all-in-one start). */
  GATEWAY_SIGNING_KEY: z.string().optional(),
  SUPERGRAPH_PATH: z.string().default('schema/supergraph.graphql'),
  GATEWAY_INTROSPECTION: optionalBooleanFlag(),
  /** Reverse proxies in front of the gateway trusted to set X-Forwarded-For (0: use the socket's address). */
  TRUST_PROXY_HOPS: z.coerce
    .number({ error: 'must be a number' })
    .int()
    .min(0, 'must be between 0 and 10')
    .max(10, 'must be between 0 and 10')
    .default(0),
  /** Browser origins allowed to call the gateway (development also allows any localhost origin). */
  CORS_ORIGINS: origins.optional(),
  /** Let Apollo Studio's Explorer (https://studio.apollographql.com) call the gateway. */
  CORS_ALLOW_APOLLO_STUDIO: optionalBooleanFlag(),
  GATEWAY_MAX_TOKENS: between(100, 100_000, DEFAULT_LIMITS.maxTokens),
  GATEWAY_MAX_DEPTH: between(2, 100, DEFAULT_LIMITS.maxDepth),
  GATEWAY_MAX_ALIASES: between(0, 1000, DEFAULT_LIMITS.maxAliases),
  GATEWAY_MAX_DIRECTIVES: between(0, 1000, DEFAULT_LIMITS.maxDirectives),
  GATEWAY_MAX_ROOT_FIELDS: between(1, 1000, DEFAULT_LIMITS.maxRootFields),
  GATEWAY_MAX_COST: between(10, 10_000_000, DEFAULT_LIMITS.maxCost),
  GATEWAY_MAX_FETCHES: between(1, 10_000, DEFAULT_LIMITS.maxFetches),
  /** Requests per client address per rate-limit window (every replica counts in the shared store). */
  RATE_LIMIT_PER_IP: between(1, 10_000_000, 1200),
  /** Requests per signed-in user or API key owner per window. */
  RATE_LIMIT_PER_PRINCIPAL: between(1, 10_000_000, 600),
  RATE_LIMIT_WINDOW_SECONDS: between(1, 3600, 60),
  /** Longest one subgraph fetch may take before the field is answered SERVICE_UNAVAILABLE. */
  SUBGRAPH_TIMEOUT_SECONDS: between(1, 600, 10),
  /** Longest a whole request may take; its subgraph fetches share what remains (and are told the deadline). */
  REQUEST_TIMEOUT_SECONDS: between(1, 600, 15),
  /**
   * Largest request body of a signed-in caller, in bytes (AI inputs sent as base64); anonymous callers: 1 MiB.
   * Default 12 MiB: an 8 MiB binary input in base64 with room to spare.
   */
  MAX_REQUEST_BYTES: between(1024 * 1024, 256 * 1024 * 1024, 12 * 1024 * 1024),
});

export type GatewayConfig = z.infer<typeof gatewayConfig>;

/** The operation limits of the gateway's settings. */
export function limitsFrom(config: GatewayConfig) {
  return {
    maxTokens: config.GATEWAY_MAX_TOKENS,
    maxDepth: config.GATEWAY_MAX_DEPTH,
    maxAliases: config.GATEWAY_MAX_ALIASES,
    maxDirectives: config.GATEWAY_MAX_DIRECTIVES,
    maxRootFields: config.GATEWAY_MAX_ROOT_FIELDS,
    maxCost: config.GATEWAY_MAX_COST,
    maxFetches: config.GATEWAY_MAX_FETCHES,
  };
}

// The one environment variable written rather than read: @apollo/gateway reads one setting from process.env itself: unless APOLLO_TELEMETRY_DISABLED is true it
// exports usage metrics to Apollo and probes cloud metadata servers (AWS, GCP, Azure, Alibaba) on start.
// A self-hosted platform must not phone home, so it is off unless explicitly set to "false".
export function disableApolloGatewayTelemetry(): void {
  if (process.env.APOLLO_TELEMETRY_DISABLED !== 'false') process.env.APOLLO_TELEMETRY_DISABLED = 'true';
}
