// `npm run db:migrate`: applies pending migrations to DATABASE_URL (or the embedded database in DATA_DIR),
// like `prisma migrate deploy`. Reports applied migrations whose files were edited afterwards.
import path from 'node:path';

import { commonConfigSchema, parseConfig, runMain, StartupError } from '@g3d/config';
import { applyMigrations, startEmbeddedPostgres } from '@g3d/db';

await runMain(async () => {
  const config = parseConfig(commonConfigSchema);
  const embedded = config.DATABASE_URL
    ? null
    : await startEmbeddedPostgres({ dataDir: path.join(config.DATA_DIR, 'pglite') });
  const url = config.DATABASE_URL ?? embedded?.url ?? '';
  try {
    const result = await applyMigrations(url).catch((error: Error) => {
      throw new StartupError(config.DATABASE_URL ? 'DATABASE_URL' : 'DATA_DIR', error.message);
    });
    process.stdout.write(
      result.applied.length ? `Applied: ${result.applied.join(', ')}\n` : 'No pending migrations.\n',
    );
    for (const name of result.edited)
      process.stdout.write(`Warning: ${name} was edited after it was applied (not re-run).\n`);
    for (const name of result.missingLocally)
      process.stdout.write(`Warning: ${name} is applied but missing from prisma/migrations.\n`);
  } finally {
    await embedded?.stop();
  }
});
