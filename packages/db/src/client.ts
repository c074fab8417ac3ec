// One way to reach the database: a pg pool + Prisma's official pg driver adapter, for PostgreSQL and for
// embedded PGlite (served over the Postgres wire protocol by embedded.ts), so both run the same code.
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

import { PrismaClient } from '../generated/prisma/client.ts';

export type * from '../generated/prisma/client.ts';
export { Prisma } from '../generated/prisma/client.ts';
export { PrismaClient };

export interface Database {
  prisma: PrismaClient;
  pool: pg.Pool;
  /** Counts SQL statements sent through this pool: the N+1 tests read it. */
  readonly queryCount: () => number;
  /** Statements sent while `fn` runs, counted by the PostgreSQL schema they name (N+1 tests). */
  countQueriesBySchema(fn: () => Promise<unknown>): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url: string;
  /** Pool size; small by default because every subgraph has its own pool. */
  poolMax?: number;
  /** How long to wait for a connection before failing (ms). */
  connectionTimeoutMs?: number;
}

export function createDatabase(options: DatabaseOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax ?? 5,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
  });
  // Without a listener an idle client's error (server restart) would crash the process.
  pool.on('error', () => {});
  let queries = 0;
  let recorder: string[] | null = null;
  pool.on('connect', (client) => {
    const original = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      queries += 1;
      if (recorder) {
        const first = args[0];
        recorder.push(typeof first === 'string' ? first : String((first as { text?: unknown })?.text ?? ''));
      }
      return original(...args);
    };
  });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    pool,
    queryCount: () => queries,
    async countQueriesBySchema(fn) {
      recorder = [];
      try {
        await fn();
        const counts: Record<string, number> = {};
        for (const text of recorder) {
          const schema = /"(identity|organization|entitlement|telemetry)"\./.exec(text)?.[1] ?? 'other';
          counts[schema] = (counts[schema] ?? 0) + 1;
        }
        return counts;
      } finally {
        recorder = null;
      }
    },
    async close() {
      await prisma.$disconnect();
      await pool.end().catch(() => {});
    },
  };
}

/** Checks that the database answers; used by /readyz and at startup. */
export async function pingDatabase(pool: pg.Pool): Promise<void> {
  await pool.query('SELECT 1');
}
