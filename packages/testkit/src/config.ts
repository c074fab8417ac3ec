// Test settings: with DATABASE_URL / REDIS_URL the suite runs on the real servers (CI); without, on an
// in-memory PGlite and the in-process store.
import { commonConfigSchema, parseConfig } from '@g3d/config';

export const testConfig = parseConfig(commonConfigSchema.pick({ DATABASE_URL: true, REDIS_URL: true }));

/** The environment for a child process under test: this one's, without the settings a test chooses itself. */
export function childEnv(overrides: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(DATABASE_URL|REDIS_URL|DATA_DIR|ADMIN_|.*_PORT$|NODE_ENV$)/.test(key))
      env[key] = value;
  }
  return { ...env, ...overrides };
}
