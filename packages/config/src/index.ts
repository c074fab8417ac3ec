// Config is parsed once at boot with zod; every problem is listed by setting name, then the process exits.
// This package is the only place (with files named config.ts) allowed to read process.env.
import { z } from 'zod';

export { z };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

/** Parses `env` (default: process.env) with a zod object schema whose keys are the variable names. */
export function parseConfig<S extends z.ZodObject>(schema: S, env: Env = process.env): z.infer<S> {
  // Empty strings mean "unset": `FOO= npm start` must not turn into an invalid value.
  const cleaned: Env = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') cleaned[k] = v;
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
}

/** Runs `main`; a ConfigError (or any startup error) becomes a short message and exit code 1, not a stack dump. */
export async function runMain(main: () => Promise<unknown>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (error instanceof ConfigError || error instanceof StartupError) {
      process.stderr.write(`${error.message}\n`);
    } else {
      process.stderr.write(`Fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    process.exit(1);
  }
}

/** An expected failure at startup (unreachable database, missing key…): printed as one message, no stack. */
export class StartupError extends Error {
  constructor(setting: string, message: string) {
    super(`Startup failed: ${setting}: ${message}`);
    this.name = 'StartupError';
  }
}

export const port = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a port number' })
    .int('must be a whole number')
    .min(0, 'must be between 0 and 65535')
    .max(65535, 'must be between 0 and 65535')
    .default(fallback);

export const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
  );

const flag = () =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A flag whose absence means "decide from other settings" (undefined). */
export const optionalBooleanFlag = () => flag().optional();

const seconds = () =>
  z.coerce.number({ error: 'must be a number of seconds' }).int('must be a whole number of seconds');

/**
 * Settings shared by services (each service adds its own slice: `config` of its service definition). Every key is
 * a variable name, documented in the README's configuration table (a test checks).
 */
export const commonConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().default('./.data'),
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  REDIS_URL: url(['redis:', 'rediss:']).optional(),
  HOST: z.string().default('127.0.0.1'),
  /** Prefix of every key and channel in the store (several environments can share one Redis). */
  STORE_PREFIX: z.string().max(64, 'must be at most 64 characters').default('g3d:'),
  /** Connections of the process's pool (one pool per process, shared by its subgraphs). Use 1 for PGlite. */
  DB_POOL_MAX: z.coerce
    .number({ error: 'must be a number of connections from 1 to 100' })
    .int('must be a whole number of connections from 1 to 100')
    .min(1, 'must be a number of connections from 1 to 100')
    .max(100, 'must be a number of connections from 1 to 100')
    .default(5),
  /** name=url pairs, comma separated: where services are when not at their default local URLs. */
  SUBGRAPH_URLS: z
    .string()
    .regex(
      /^([a-z0-9-]+=https?:\/\/[^,\s]+)(,[a-z0-9-]+=https?:\/\/[^,\s]+)*$/,
      'must be name=http://host:port/graphql pairs, comma separated',
    )
    .optional(),
  AUTH_ISSUER: z.string().min(1).default('g3d-identity'),
  AUTH_AUDIENCE: z.string().min(1).default('g3d-platform'),
  /** Access token lifetime: identity issues them; organization remembers authorization changes as long. */
  ACCESS_TOKEN_TTL_SECONDS: seconds()
    .min(60, 'must be between 60 and 3600 seconds')
    .max(3600, 'must be between 60 and 3600 seconds')
    .default(900),
  /** Where identity's public keys are (the gateway checks access tokens, organization service tokens with them). */
  IDENTITY_JWKS_URL: url(['http:', 'https:']).optional(),
  /** The gateway's public JWK, for a subgraph running alone (else read from DATA_DIR/keys). */
  GATEWAY_PUBLIC_KEY: z.string().optional(),
  /** The web app that handles the links in mails (/verify-email, /reset-password, /invitations/accept). */
  APP_URL: url(['http:', 'https:']).default('http://127.0.0.1:4000'),
  /** SMTP server for outgoing mail (smtp:// or smtps://); unset: mail stays in the outbox (development mailbox). */
  SMTP_URL: url(['smtp:', 'smtps:']).optional(),
  /** How often mail that SMTP refused is retried (each message at most 5 times). */
  MAIL_RETRY_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds' })
    .min(0.1, 'must be between 0.1 and 3600 seconds')
    .max(3600, 'must be between 0.1 and 3600 seconds')
    .default(60),
  MAIL_FROM: z.string().min(3).default('G3D Platform <no-reply@g3d.local>'),
  /**
   * On SIGTERM, how long a service keeps serving while its readiness fails (load balancers stop sending), before
   * it stops accepting.
   */
  SHUTDOWN_DRAIN_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds from 0 to 120' })
    .min(0, 'must be a number of seconds from 0 to 120')
    .max(120, 'must be a number of seconds from 0 to 120')
    .default(5),
  /** Then how long in-flight requests may take to finish before connections are closed. */
  SHUTDOWN_GRACE_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds from 0 to 300' })
    .min(0, 'must be a number of seconds from 0 to 300')
    .max(300, 'must be a number of seconds from 0 to 300')
    .default(10),
  /** Longest a database statement may run before it is cancelled (SERVICE_UNAVAILABLE). */
  DB_STATEMENT_TIMEOUT_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds from 1 to 300' })
    .min(1, 'must be a number of seconds from 1 to 300')
    .max(300, 'must be a number of seconds from 1 to 300')
    .default(5),
  /**
   * Longest a shared-store (Redis) call may go unanswered before it fails (SERVICE_UNAVAILABLE): how fast a frozen
   * Redis is noticed. Measured once the process's pending I/O has run, so a busy process does not trip it.
   */
  STORE_TIMEOUT_MS: z.coerce
    .number({ error: 'must be a number of milliseconds from 50 to 60000' })
    .int('must be a number of milliseconds from 50 to 60000')
    .min(50, 'must be a number of milliseconds from 50 to 60000')
    .max(60_000, 'must be a number of milliseconds from 50 to 60000')
    .default(1000),
});
export type CommonConfig = z.infer<typeof commonConfigSchema>;
