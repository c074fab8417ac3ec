// Seed helpers and real infrastructure for tests: a fresh database per test file (a new database on the
// PostgreSQL server, or an in-memory PGlite loaded from a snapshot), and a store isolated by a random key prefix.
import { randomBytes } from 'node:crypto';

import { applyMigrations } from '@g3d/db';
import { createStore, type Store } from '@g3d/store';
import pg from 'pg';

import { testConfig } from './config.ts';
import { startPgliteDatabase } from './pglite-snapshot.ts';

export interface TestDatabase {
  url: string;
  kind: 'postgres' | 'pglite';
  drop(): Promise<void>;
}

/** A new, empty database (migrations not applied). */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  if (!testConfig.DATABASE_URL) {
    const embedded = await startPgliteDatabase('empty');
    return { url: embedded.url, kind: 'pglite', drop: () => embedded.stop() };
  }
  const name = `g3d_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: testConfig.DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(testConfig.DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    kind: 'postgres',
    async drop() {
      const client = new pg.Client({ connectionString: testConfig.DATABASE_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/**
 * The platform settings that point it at a test database. PGlite takes one connection at a time (its socket
 * multiplexer interleaves concurrent ones), so the pool is 1 there.
 */
export function databaseEnv(db: TestDatabase): Record<string, string> {
  return { DATABASE_URL: db.url, ...(db.kind === 'pglite' ? { DB_POOL_MAX: '1' } : {}) };
}

/** A new database with every migration applied. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (!testConfig.DATABASE_URL) {
    const embedded = await startPgliteDatabase('migrated');
    return { url: embedded.url, kind: 'pglite', drop: () => embedded.stop() };
  }
  const db = await createEmptyDatabase();
  await applyMigrations(db.url);
  return db;
}

export const testStorePrefix = () => `g3d-test:${randomBytes(6).toString('hex')}:`;

export function createTestStore(): Promise<Store> {
  return createStore({ redisUrl: testConfig.REDIS_URL, prefix: testStorePrefix() });
}
