// The gateway's settings besides the common ones (README's configuration table documents each).
import { optionalBooleanFlag, z } from '@g3d/config';

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
});

// The one environment variable written rather than read: @apollo/gateway reads one setting from process.env itself: unless APOLLO_TELEMETRY_DISABLED is true it
// exports usage metrics to Apollo and probes cloud metadata servers (AWS, GCP, Azure, Alibaba) on start.
// A self-hosted platform must not phone home, so it is off unless explicitly set to "false".
export function disableApolloGatewayTelemetry(): void {
  if (process.env.APOLLO_TELEMETRY_DISABLED !== 'false') process.env.APOLLO_TELEMETRY_DISABLED = 'true';
}
