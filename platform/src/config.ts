// The platform's settings, parsed once at boot (see README's configuration table).
import { commonConfigSchema, optionalBooleanFlag, parseConfig, port, url, z } from '@g3d/config';

export const platformConfigSchema = commonConfigSchema.extend({
  GATEWAY_PORT: port(4000),
  IDENTITY_PORT: port(4001),
  ORGANIZATION_PORT: port(4002),
  ENTITLEMENT_PORT: port(4003),
  TELEMETRY_PORT: port(4004),
  /** The AI wrappers listen on AI_PORT_BASE + 1 … + 16, in registry order. */
  AI_PORT_BASE: port(4100),
  SUPERGRAPH_PATH: z.string().default('schema/supergraph.graphql'),
  /** name=url pairs, comma separated: where the gateway finds subgraphs when not at the supergraph's URLs. */
  SUBGRAPH_URLS: z
    .string()
    .regex(
      /^([a-z0-9-]+=https?:\/\/[^,\s]+)(,[a-z0-9-]+=https?:\/\/[^,\s]+)*$/,
      'must be name=http://host:port/graphql pairs, comma separated',
    )
    .optional(),
  GATEWAY_INTROSPECTION: optionalBooleanFlag(),
  AUTH_ISSUER: z.string().min(1).default('g3d-identity'),
  AUTH_AUDIENCE: z.string().min(1).default('g3d-platform'),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds' })
    .int()
    .min(60)
    .max(3600)
    .default(900),
  /** Private Ed25519 JWKs (JSON). When unset, keys are generated into DATA_DIR/keys at first start. */
  IDENTITY_SIGNING_KEY: z.string().optional(),
  GATEWAY_SIGNING_KEY: z.string().optional(),
  /** The gateway's public JWK, for a subgraph running alone (else read from DATA_DIR/keys). */
  GATEWAY_PUBLIC_KEY: z.string().optional(),
  /** Where the gateway reads identity's signing keys; default: next to identity's URL in the supergraph. */
  IDENTITY_JWKS_URL: url(['http:', 'https:']).optional(),
  ADMIN_EMAIL: z.email('must be an email address').default('admin@g3d.local'),
  /** The first admin's password; generated and printed once when unset. */
  ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  DB_POOL_MAX: z.coerce.number({ error: 'must be a number' }).int().min(1).max(100).default(5),
});

/** Every service on a free port chosen by the OS: tests and benchmarks run beside anything else. */
export const RANDOM_PORTS_ENV = {
  GATEWAY_PORT: '0',
  IDENTITY_PORT: '0',
  ORGANIZATION_PORT: '0',
  ENTITLEMENT_PORT: '0',
  TELEMETRY_PORT: '0',
  AI_PORT_BASE: '0',
} as const;

export type PlatformConfig = z.infer<typeof platformConfigSchema>;

export function loadPlatformConfig(env = process.env): PlatformConfig {
  return parseConfig(platformConfigSchema, env);
}
