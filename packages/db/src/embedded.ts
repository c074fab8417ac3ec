// Embedded PostgreSQL: PGlite (Postgres compiled to WebAssembly) persisted in a folder and served on a
// loopback port over the Postgres wire protocol, so the rest of the platform connects with a normal URL.
// One PGlite instance per data directory: every subgraph of the all-in-one process shares it.
import fs from 'node:fs';
import path from 'node:path';

import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/** Starts PGlite in `dataDir` (in memory when omitted) and serves it on 127.0.0.1 at a free port. */
export async function startEmbeddedPostgres(options: { dataDir?: string } = {}): Promise<EmbeddedPostgres> {
  if (options.dataDir) fs.mkdirSync(path.dirname(path.resolve(options.dataDir)), { recursive: true });
  const db = await PGlite.create(options.dataDir ? path.resolve(options.dataDir) : undefined);
  // The multiplexer lets many pooled connections share PGlite's single session.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 256 });
  await server.start();
  const conn = server.getServerConn(); // "host:port"
  return {
    url: `postgresql://postgres@${conn}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
