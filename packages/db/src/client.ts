// One way to reach the database: a pg pool + Prisma's official pg driver adapter, for PostgreSQL and for
// embedded PGlite (served over the Postgres wire protocol by embedded.ts), so both run the same code.
import { createHash } from 'node:crypto';

import { DATABASE_SCHEMAS } from '@g3d/manifest';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

import { type Prisma, PrismaClient } from '../generated/prisma/client.ts';

export type * from '../generated/prisma/client.ts';

/** An interactive transaction's client. */
export type Tx = Prisma.TransactionClient;
/** The client or a transaction: repositories take either, so a service can run them inside its transaction. */
export type Db = PrismaClient | Tx;
export { Prisma } from '../generated/prisma/client.ts';
export { PrismaClient };

export interface Database {
  prisma: PrismaClient;
  pool: pg.Pool;
  /**
   * Runs one raw statement on the pool without Prisma's client (about 60 us less CPU per statement here), named
   * like Prisma's statements (namedStatements). For the hottest paths only (login): rows come as pg parses
   * them (bigint columns as strings), not mapped like Prisma's.
   */
  query<R extends pg.QueryResultRow>(statement: Prisma.Sql): Promise<pg.QueryResult<R>>;
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
  /**
   * Longest a statement may run (ms): the server cancels it (statement_timeout) and the client stops waiting a
   * little later (a blackholed server never answers the cancel). Default 5 s.
   */
  statementTimeoutMs?: number;
  /**
   * Prepare each statement once per connection (see statementNames). Only where every connection is its own
   * session: not on PGlite, whose one session all connections share (a statement another client prepared under
   * the same name would collide).
   */
  namedStatements?: boolean;
}

export function createDatabase(options: DatabaseOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax ?? 5,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 3_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMs ?? 5_000,
    query_timeout: (options.statementTimeoutMs ?? 5_000) + 1_000,
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
  const names = options.namedStatements ? statementNames() : null;
  const prisma = new PrismaClient({
    adapter: new PrismaPg(pool, names ? { statementNameGenerator: names } : {}),
  });
  return {
    prisma,
    pool,
    query: (statement) =>
      pool.query({
        name: names?.({ sql: statement.text }) || undefined,
        text: statement.text,
        values: statement.values,
      }),
    queryCount: () => queries,
    async countQueriesBySchema(fn) {
      recorder = [];
      try {
        await fn();
        const counts: Record<string, number> = {};
        for (const text of recorder) {
          const schema = DATABASE_SCHEMAS.find((name) => text.includes(`"${name}".`)) ?? 'other';
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

// Named statements are parsed once per connection and kept there, by the server and by pg: bounded, so that
// statements of ever new text (IN lists of every length) cannot pile up on long-lived connections.
const MAX_NAMED_STATEMENTS = 500;

/**
 * Names each distinct SQL text (by its hash), so pg prepares it once per connection and later runs send only
 * Bind/Execute: PostgreSQL skips parsing, and after a few runs planning, of the same statement every time
 * (the login's lookup and insert cost the server about half as much CPU). An empty name (past the bound)
 * leaves the statement unnamed, as without a generator.
 */
function statementNames(): (query: { sql: string }) => string {
  const names = new Map<string, string>();
  return ({ sql }) => {
    let name = names.get(sql);
    if (name === undefined) {
      if (names.size >= MAX_NAMED_STATEMENTS) return '';
      name = `g3d_${createHash('sha256').update(sql).digest('base64url').slice(0, 32)}`;
      names.set(sql, name);
    }
    return name;
  };
}

/** Checks that the database answers; used by /readyz and at startup. */
export async function pingDatabase(pool: pg.Pool): Promise<void> {
  await pool.query('SELECT 1');
}
