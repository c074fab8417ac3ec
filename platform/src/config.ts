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
  /** JSON array of public JWKs of retired identity keys still to publish (key rotation with env-provided keys). */
  IDENTITY_PREVIOUS_PUBLIC_KEYS: z.string().optional(),
  /** The gateway's public JWK, for a subgraph running alone (else read from DATA_DIR/keys). */
  GATEWAY_PUBLIC_KEY: z.string().optional(),
  /** Where the gateway reads identity's signing keys; default: next to identity's URL in the supergraph. */
  IDENTITY_JWKS_URL: url(['http:', 'https:']).optional(),
  /** Absolute lifetime of a session and its refresh tokens. */
  SESSION_TTL_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds' })
    .int()
    .min(300)
    .max(365 * 86400)
    .default(30 * 86400),
  /** A rotated refresh token presented again within this window gets fresh tokens (concurrent refreshes); later, it ends the session. */
  REFRESH_GRACE_SECONDS: z.coerce.number({ error: 'must be a number of seconds' }).int().min(0).max(60).default(10),
  /** The web app that handles the links in mails (/verify-email, /reset-password). */
  APP_URL: url(['http:', 'https:']).default('http://127.0.0.1:4000'),
  /** SMTP server for outgoing mail (smtp:// or smtps://); unset: mail stays in the outbox (development mailbox). */
  SMTP_URL: url(['smtp:', 'smtps:']).optional(),
  /** How often mail that SMTP refused is retried (each message at most 5 times). */
  MAIL_RETRY_SECONDS: z.coerce.number({ error: 'must be a number of seconds' }).min(0.1).max(3600).default(60),
  MAIL_FROM: z.string().min(3).default('G3D Platform <no-reply@g3d.local>'),
  /** 32 bytes, base64: encrypts TOTP secrets at rest. Unset: generated into DATA_DIR/keys at first start. */
  MFA_ENCRYPTION_KEY: z.string().optional(),
  PASSWORD_MIN_LENGTH: z.coerce.number({ error: 'must be a number' }).int().min(8).max(64).default(8),
  /** Failed logins per account before it is locked (15 min, doubling with each lock). */
  LOGIN_MAX_FAILURES: z.coerce.number({ error: 'must be a number' }).int().min(3).max(100).default(10),
  /** Login attempts per client IP per 15 minutes. */
  LOGIN_IP_LIMIT: z.coerce.number({ error: 'must be a number' }).int().min(10).max(100_000).default(100),
  ADMIN_EMAIL: z.email('must be an email address').default('admin@g3d.local'),
  /** The first admin's password; generated and printed once when unset. */
  ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  /** Reverse proxies in front of the gateway trusted to set X-Forwarded-For (0: use the socket's address). */
  TRUST_PROXY_HOPS: z.coerce.number({ error: 'must be a number' }).int().min(0).max(10).default(0),
  /** Connections of the process's pool (one pool per process, shared by its subgraphs). Use 1 for PGlite. */
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
