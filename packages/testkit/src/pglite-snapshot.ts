// PGlite test databases from a snapshot. Creating a PGlite cluster (initdb) costs about 2 s, loading a dumped
// data directory about 0.5 s, and every test file needs a fresh database. So the first test file on a machine
// dumps a fresh cluster (and one with every migration applied) into the temporary directory, keyed by PGlite's
// version and the migrations' checksums; later files load it. Served like @g3d/db's startEmbeddedPostgres: on a
// loopback port over the Postgres wire protocol.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { applyMigrations, readMigrations } from '@g3d/db';

export interface PgliteDatabase {
  url: string;
  stop(): Promise<void>;
}

const SNAPSHOT_DIR = path.join(os.tmpdir(), 'g3d-testkit-pglite');

/** The installed PGlite's version (a snapshot is only loaded by the version that wrote it). */
function pgliteVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.resolve('@electric-sql/pglite')));
  while (dir !== path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@electric-sql/pglite') return pkg.version ?? 'unknown';
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}

function snapshotFile(kind: 'empty' | 'migrated'): string {
  const hash = createHash('sha256').update(`${pgliteVersion()}\n${kind}\n`);
  if (kind === 'migrated') for (const m of readMigrations()) hash.update(`${m.name} ${m.checksum}\n`);
  return path.join(SNAPSHOT_DIR, `${kind}-${hash.digest('hex').slice(0, 16)}.tar`);
}

async function serve(db: PGlite): Promise<PgliteDatabase> {
  // The multiplexer lets many pooled connections share PGlite's single session.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 256 });
  await server.start();
  return {
    url: `postgresql://postgres@${server.getServerConn()}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

async function load(file: string): Promise<PGlite | null> {
  if (!fs.existsSync(file)) return null;
  try {
    return await PGlite.create({ loadDataDir: new Blob([fs.readFileSync(file)]) });
  } catch {
    fs.rmSync(file, { force: true }); // unreadable (another version, a torn copy): made again below
    return null;
  }
}

async function save(db: PGlite, file: string): Promise<void> {
  const dump = Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer());
  fs.mkdirSync(SNAPSHOT_DIR, { recursive: true });
  // Written aside, then renamed: a concurrent reader sees the whole file or none.
  const partial = `${file}.${randomBytes(4).toString('hex')}.partial`;
  fs.writeFileSync(partial, dump);
  fs.renameSync(partial, file);
  // Snapshots of earlier migrations (or PGlite versions) are no use any more; another checkout may still be
  // using a recent one.
  const kind = path.basename(file).split('-')[0] as string;
  for (const other of fs.readdirSync(SNAPSHOT_DIR)) {
    const stale = path.join(SNAPSHOT_DIR, other);
    if (other.startsWith(`${kind}-`) && stale !== file && Date.now() - fs.statSync(stale).mtimeMs > 86_400_000) {
      fs.rmSync(stale, { force: true });
    }
  }
}

/** A new in-memory PGlite, empty or with every migration applied, served on a random loopback port. */
export async function startPgliteDatabase(kind: 'empty' | 'migrated'): Promise<PgliteDatabase> {
  const file = snapshotFile(kind);
  const loaded = await load(file);
  if (loaded) return serve(loaded);
  const db = await PGlite.create();
  const served = await serve(db);
  try {
    if (kind === 'migrated') await applyMigrations(served.url);
    await save(db, file);
  } catch (error) {
    await served.stop();
    throw error;
  }
  return served;
}
