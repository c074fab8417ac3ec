// Prisma CLI configuration: one multi-file schema under prisma/, migrations in Prisma's own layout.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema',
  migrations: { path: 'prisma/migrations' },
});
