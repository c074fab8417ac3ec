// Applies prisma/migrations the way `prisma migrate deploy` does, without Prisma's native engine: the same
// `_prisma_migrations` table, checksums (SHA-256 of migration.sql) and advisory lock, so the official CLI
// sees the same state. An applied migration whose file changed is reported, never re-run.
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { DATABASE_SCHEMAS } from '@g3d/manifest';
import pg from 'pg';

export const DEFAULT_MIGRATIONS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../prisma/migrations',
);
const PRISMA_ADVISORY_LOCK = 72707369;

export interface LocalMigration {
  name: string;
  checksum: string;
  sql: string;
}

export interface MigrationResult {
  applied: string[];
  /** Applied migrations whose migration.sql no longer matches the recorded checksum. */
  edited: string[];
  /** Migrations recorded in the database that are not in the migrations folder. */
  missingLocally: string[];
}

export class MigrationError extends Error {
  constructor(
    readonly code: 'P3005' | 'P3009' | 'P3018',
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'MigrationError';
  }
}

export function readMigrations(dir = DEFAULT_MIGRATIONS_DIR): LocalMigration[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(dir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const bytes = fs.readFileSync(path.join(dir, name, 'migration.sql'));
      return { name, checksum: createHash('sha256').update(bytes).digest('hex'), sql: bytes.toString('utf8') };
    });
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

// PGlite has a single session, so its advisory locks do not exclude its own multiplexed connections:
// runs within one process are also serialized here, per database URL.
const inProcess = new Map<string, Promise<unknown>>();

export function applyMigrations(url: string, dir = DEFAULT_MIGRATIONS_DIR): Promise<MigrationResult> {
  const previous = inProcess.get(url) ?? Promise.resolve();
  const run = previous.catch(() => {}).then(() => applyMigrationsLocked(url, dir));
  inProcess.set(url, run);
  void run
    .finally(() => {
      if (inProcess.get(url) === run) inProcess.delete(url);
    })
    .catch(() => {});
  return run;
}

async function applyMigrationsLocked(url: string, dir: string): Promise<MigrationResult> {
  const local = readMigrations(dir);
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK]);
    try {
      return await applyLocked(client, local);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK]);
    }
  } finally {
    await client.end();
  }
}

async function applyLocked(client: pg.Client, local: LocalMigration[]): Promise<MigrationResult> {
  const { rows: tableRows } = await client.query<{ exists: boolean }>(
    `SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS exists`,
  );
  if (!tableRows[0]?.exists) {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = ANY($1)`,
      [['public', ...DATABASE_SCHEMAS]],
    );
    if ((rows[0]?.n ?? 0) > 0) {
      throw new MigrationError(
        'P3005',
        'The database schema is not empty and has no migration history; baseline it first.',
      );
    }
    await client.query(`CREATE TABLE IF NOT EXISTS public._prisma_migrations (
      id VARCHAR(36) PRIMARY KEY NOT NULL,
      checksum VARCHAR(64) NOT NULL,
      finished_at TIMESTAMPTZ,
      migration_name VARCHAR(255) NOT NULL,
      logs TEXT,
      rolled_back_at TIMESTAMPTZ,
      started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      applied_steps_count INTEGER NOT NULL DEFAULT 0)`);
  }
  const { rows } = await client.query<MigrationRow>(
    'SELECT migration_name, checksum, finished_at, rolled_back_at FROM public._prisma_migrations ORDER BY started_at',
  );
  const failed = rows.find((row) => row.finished_at === null && row.rolled_back_at === null);
  if (failed) {
    throw new MigrationError(
      'P3009',
      `Migration ${failed.migration_name} failed earlier; fix it and mark it rolled back (prisma migrate resolve).`,
    );
  }
  const appliedRows = new Map(
    rows
      .filter((row) => row.finished_at !== null && row.rolled_back_at === null)
      .map((row) => [row.migration_name, row]),
  );
  const localNames = new Set(local.map((m) => m.name));
  const result: MigrationResult = {
    applied: [],
    edited: local
      .filter((m) => appliedRows.has(m.name) && appliedRows.get(m.name)?.checksum !== m.checksum)
      .map((m) => m.name),
    missingLocally: [...appliedRows.keys()].filter((name) => !localNames.has(name)),
  };
  for (const migration of local.filter((m) => !appliedRows.has(m.name))) {
    const id = randomUUID();
    await client.query(
      'INSERT INTO public._prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
      [id, migration.checksum, migration.name],
    );
    try {
      await client.query(migration.sql);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await client.query('UPDATE public._prisma_migrations SET logs = $2 WHERE id = $1', [id, message]);
      throw new MigrationError('P3018', `Migration ${migration.name} failed: ${message}`);
    }
    await client.query(
      'UPDATE public._prisma_migrations SET finished_at = now(), applied_steps_count = 1 WHERE id = $1',
      [id],
    );
    result.applied.push(migration.name);
  }
  return result;
}
