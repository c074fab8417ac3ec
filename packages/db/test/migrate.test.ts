// The migration applier behaves like `prisma migrate deploy`: same history table and checksums, idempotent,
// edited migrations reported and never re-run, failures recorded and blocking.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { applyMigrations, DEFAULT_MIGRATIONS_DIR, MigrationError, readMigrations } from '@g3d/db';
import { createEmptyDatabase, type TestDatabase } from '@g3d/testkit';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';

const databases: TestDatabase[] = [];
async function emptyDatabase() {
  const db = await createEmptyDatabase();
  databases.push(db);
  return db;
}
afterEach(async () => {
  for (const db of databases.splice(0)) await db.drop();
});

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

function copyMigrations(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-migrations-'));
  fs.cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

describe('applyMigrations', () => {
  it('applies every migration to an empty database, then nothing on the second run', async () => {
    const db = await emptyDatabase();
    const local = readMigrations();
    expect(local.length).toBeGreaterThan(0);
    const first = await applyMigrations(db.url);
    expect(first.applied).toEqual(local.map((m) => m.name));
    const second = await applyMigrations(db.url);
    expect(second).toEqual({ applied: [], edited: [], missingLocally: [] });

    const rows = await query<{
      migration_name: string;
      checksum: string;
      applied_steps_count: number;
      finished_at: Date | null;
    }>(
      db.url,
      'SELECT migration_name, checksum, applied_steps_count, finished_at FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(rows.map((r) => r.migration_name)).toEqual(local.map((m) => m.name));
    for (const [i, row] of rows.entries()) {
      const file = fs.readFileSync(path.join(DEFAULT_MIGRATIONS_DIR, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(file).digest('hex'));
      expect(row.checksum).toBe(local[i]?.checksum);
      expect(row.applied_steps_count).toBe(1);
      expect(row.finished_at).not.toBeNull();
    }
    // The tables exist, each in its subgraph's schema.
    const tables = await query<{ t: string }>(
      db.url,
      `SELECT table_schema || '.' || table_name AS t FROM information_schema.tables
       WHERE table_schema IN ('identity', 'organization', 'entitlement', 'telemetry')`,
    );
    expect(tables.map((t) => t.t)).toEqual(
      expect.arrayContaining(['identity.users', 'organization.organizations', 'organization.memberships']),
    );
  });

  it('applies concurrently started runs once (advisory lock)', async () => {
    const db = await emptyDatabase();
    const results = await Promise.all([applyMigrations(db.url), applyMigrations(db.url), applyMigrations(db.url)]);
    expect(results.flatMap((r) => r.applied)).toEqual(readMigrations().map((m) => m.name));
  });

  it('reports an edited applied migration and does not re-run it', async () => {
    const db = await emptyDatabase();
    const dir = copyMigrations();
    await applyMigrations(db.url, dir);
    const first = readMigrations(dir)[0];
    if (!first) throw new Error('no migrations');
    fs.appendFileSync(
      path.join(dir, first.name, 'migration.sql'),
      '\nCREATE TABLE public.should_not_exist (id int);\n',
    );
    const result = await applyMigrations(db.url, dir);
    expect(result.edited).toEqual([first.name]);
    expect(result.applied).toEqual([]);
    const exists = await query<{ r: string | null }>(
      db.url,
      `SELECT to_regclass('public.should_not_exist')::text AS r`,
    );
    expect(exists[0]?.r).toBeNull();
  });

  it('reports migrations applied in the database but missing locally', async () => {
    const db = await emptyDatabase();
    const dir = copyMigrations();
    await applyMigrations(db.url, dir);
    const last = readMigrations(dir).at(-1)?.name as string;
    fs.rmSync(path.join(dir, last), { recursive: true });
    expect((await applyMigrations(db.url, dir)).missingLocally).toEqual([last]);
  });

  it('refuses a non-empty database without migration history (P3005)', async () => {
    const db = await emptyDatabase();
    await query(db.url, 'CREATE TABLE public.legacy (id int)');
    await expect(applyMigrations(db.url)).rejects.toMatchObject({ code: 'P3005' });
  });

  it('records a failing migration (P3018), rolls its statements back and blocks later runs (P3009)', async () => {
    const db = await emptyDatabase();
    const dir = copyMigrations();
    const broken = path.join(dir, '99990101000000_broken');
    fs.mkdirSync(broken);
    fs.writeFileSync(
      path.join(broken, 'migration.sql'),
      'CREATE TABLE public.half (id int);\nSELECT * FROM no_such_table;\n',
    );
    const error = await applyMigrations(db.url, dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).code).toBe('P3018');
    const rows = await query<{ logs: string | null; finished_at: Date | null }>(
      db.url,
      `SELECT logs, finished_at FROM _prisma_migrations WHERE migration_name = '99990101000000_broken'`,
    );
    expect(rows[0]?.finished_at).toBeNull();
    expect(rows[0]?.logs).toContain('no_such_table');
    const half = await query<{ r: string | null }>(db.url, `SELECT to_regclass('public.half')::text AS r`);
    expect(half[0]?.r).toBeNull();
    await expect(applyMigrations(db.url, dir)).rejects.toMatchObject({ code: 'P3009' });
  });
});
