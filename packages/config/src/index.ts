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

export const booleanFlag = (fallback: boolean) => flag().default(fallback);

/** A flag whose absence means "decide from other settings" (undefined). */
export const optionalBooleanFlag = () => flag().optional();

/** Settings shared by every service. */
export const commonConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().default('./.data'),
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  REDIS_URL: url(['redis:', 'rediss:']).optional(),
  HOST: z.string().default('127.0.0.1'),
  /** Prefix of every key and channel in the store (several environments can share one Redis). */
  STORE_PREFIX: z.string().max(64).default('g3d:'),
});
export type CommonConfig = z.infer<typeof commonConfigSchema>;
