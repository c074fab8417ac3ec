// Checks that prisma/migrations, applied to an empty database, match prisma/schema (exit 2 and the SQL that
// is missing when they drift). Runs the WebAssembly schema engine: no database server needed.
import { diffMigrationsToSchema } from '../packages/db/src/schema-engine.ts';

try {
  const { drifted, script } = await diffMigrationsToSchema();
  if (drifted) console.log(`drift: the migrations lack\n${script}\nrun: npm run db:migration:new <name>`);
  else console.log('no drift');
  process.exitCode = drifted ? 2 : 0;
} catch (e) {
  console.error(`db:check-drift: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
  process.exitCode = 1;
}
