// Test settings: with DATABASE_URL / REDIS_URL the suite runs on the real servers (CI); without, on an
// in-memory PGlite and the in-process store.
import { commonConfigSchema, parseConfig } from '@g3d/config';

export const testConfig = parseConfig(commonConfigSchema.pick({ DATABASE_URL: true, REDIS_URL: true }));
