// `npm run db:migration:new <name>`: writes prisma/migrations/<timestamp>_<name>/migration.sql with the SQL
// that takes the existing migrations to the current schema (like `prisma migrate dev --create-only`, but on
// the WebAssembly schema engine: the native one cannot be downloaded here).
import path from 'node:path';

import { createMigration } from '../packages/db/src/schema-engine.ts';

const name = process.argv[2] ?? '';
// No process.exit needed: the module clears the engine's leftover timers when it closes.
try {
  if (!/^[a-z0-9_]+$/.test(name) || process.argv.length > 3) {
    throw new Error('usage: npm run db:migration:new <name>  (name: lowercase letters, digits, underscores)');
  }
  const { directory } = await createMigration({ name });
  console.log(directory ? `created ${path.relative(process.cwd(), directory)}` : 'no changes');
} catch (e) {
  console.error(`db:migration:new: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
  process.exitCode = 1;
}
