/**
 * Migration authoring without Prisma's native schema engine (it cannot be downloaded on our machines; see
 * docs on "Prisma without engines"). Runs Prisma's schema engine compiled to WebAssembly
 * (`@prisma/schema-engine-wasm`, pinned exactly) against throw-away in-memory PGlite databases, so
 * `prisma migrate dev --create-only` and `prisma migrate diff --exit-code` need no server at all.
 *
 * This is an INTERNAL Prisma API: keep it contained in this module, used only by dev scripts and tests.
 * Output stays in Prisma's own layout, so the official CLI (`migrate deploy/status`) reads it unchanged.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { PGlite } from '@electric-sql/pglite';
import {
  bindMigrationAwareSqlAdapterFactory,
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { MigrationList, SchemaEngine, SchemaFilter, SchemasContainer } from '@prisma/schema-engine-wasm';
import * as bindings from '@prisma/schema-engine-wasm/schema_engine_bg';
import { PrismaPGlite } from 'pglite-prisma-adapter';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const defaultSchemaDir = path.join(repoRoot, 'prisma/schema');
const defaultMigrationsDir = path.join(repoRoot, 'prisma/migrations');
const noFilter: SchemaFilter = { externalTables: [], externalEnums: [] };

export interface Dirs {
  schemaDir?: string;
  migrationsDir?: string;
}

// ---------------------------------------------------------------------------------------------------
// Loading the wasm module. Its package entry imports the .wasm as an ES module, which plain Node 20
// cannot do, so we instantiate it by hand (once per process) the way wasm-bindgen's glue expects.

// Our lib (ES2023, no DOM) has no WebAssembly globals: declare the one call we make.
declare const WebAssembly: {
  instantiate(wasm: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>;
};

// The engine arms 10 s timers (through its only setTimeout import) that nothing clears: they kept
// scripts alive 10 s after finishing. We track them and clear them when the last engine closes.
const pendingTimers = new Set<NodeJS.Timeout>();
let openEngines = 0;

// A Rust panic reports its message here, then the call rejects with a bare wasm RuntimeError.
const panics = {
  message: '',
  set_message(message: string) {
    panics.message = message;
  },
};

let loaded: Promise<typeof bindings> | undefined;
function loadBindings(): Promise<typeof bindings> {
  loaded ??= (async () => {
    const require = createRequire(import.meta.url);
    const wasmPath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg').replace(/\.js$/, '.wasm');
    const imports: Record<string, unknown> = { ...bindings };
    for (const name of Object.keys(imports).filter((n) => n.startsWith('__wbg_setTimeout_'))) {
      imports[name] = (callback: () => void, ms: number) => {
        const timer = setTimeout(() => {
          pendingTimers.delete(timer);
          callback();
        }, ms >>> 0);
        pendingTimers.add(timer);
        return timer;
      };
    }
    const { instance } = await WebAssembly.instantiate(await readFile(wasmPath), {
      './schema_engine_bg.js': imports,
    });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    (globalThis as Record<string, unknown>).PRISMA_WASM_PANIC_REGISTRY = panics;
    return bindings;
  })();
  return loaded;
}

// ---------------------------------------------------------------------------------------------------
// Databases. Starting a PGlite takes ~3.5 s, nearly all of the cost, so shadow databases are wiped and reused
// (as the native engine does with a configured shadowDatabaseUrl) rather than started afresh each time.

const wipeSql = `DO $$ DECLARE s text; BEGIN
  FOR s IN SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', s);
  END LOOP;
  CREATE SCHEMA public;
END $$;`;

function pgliteFactory(): SqlMigrationAwareDriverAdapterFactory & { close(): Promise<void> } {
  const all = new Set<PGlite>();
  const spare: PGlite[] = [];
  const start = async () => {
    const db = await PGlite.create();
    all.add(db);
    return db;
  };
  let main: Promise<PGlite> | undefined; // the engine queries it on construction, so no point deferring
  return {
    provider: 'postgres',
    adapterName: 'pglite-in-memory',
    connect: async () => pgliteAdapter(await (main ??= start()), async () => {}), // lives as long as the session
    connectToShadowDb: async () => {
      const db = spare.pop() ?? (await start());
      return pgliteAdapter(db, async () => {
        await db.exec(wipeSql).then(
          () => spare.push(db),
          () => db.close().finally(() => all.delete(db)),
        );
      });
    },
    close: async () => {
      await Promise.all([...all].map((db) => db.close()));
      all.clear();
    },
  };
}

async function pgliteAdapter(client: PGlite, dispose: () => Promise<void>): Promise<SqlDriverAdapter> {
  const adapter = await new PrismaPGlite(client).connect();
  // pglite-prisma-adapter 0.7.2 does not await exec() in executeScript: a failing migration script
  // would become an unhandled rejection instead of an engine error.
  adapter.executeScript = async (script) => {
    try {
      await client.exec(script);
    } catch (e) {
      const pg = e as {
        code?: string;
        severity?: string;
        message: string;
        detail?: string;
        column?: string;
        hint?: string;
      };
      if (typeof pg.code !== 'string') throw e;
      throw new DriverAdapterError({
        kind: 'postgres',
        code: pg.code,
        severity: pg.severity ?? 'ERROR',
        message: pg.message,
        detail: pg.detail,
        column: pg.column,
        hint: pg.hint,
      });
    }
  };
  adapter.dispose = dispose; // the adapter's own dispose is a no-op
  return adapter;
}

/** An engine session; reuse it for several calls (e.g. in a test file) and always close() it. */
export interface SchemaEngineSession {
  createMigration(options: { name: string } & Dirs): Promise<{ directory: string | null }>;
  diffMigrationsToSchema(options?: Dirs): Promise<{ drifted: boolean; script: string }>;
  close(): Promise<void>;
}

export async function openSchemaEngine(options: Pick<Dirs, 'schemaDir'> = {}): Promise<SchemaEngineSession> {
  const { SchemaEngine } = await loadBindings();
  const factory = pgliteFactory();
  const initial = await readSchema(options.schemaDir ?? defaultSchemaDir);
  openEngines++;
  let engine: SchemaEngine;
  try {
    engine = await SchemaEngine.new(
      { datamodels: initial.files.map((f) => [f.path, f.content]) },
      () => {}, // the engine's trace log: not needed (errors come back as exceptions)
      bindMigrationAwareSqlAdapterFactory(factory),
    );
  } catch (e) {
    openEngines--;
    await factory.close();
    throw engineError(e);
  }

  return {
    async createMigration({ name, schemaDir = defaultSchemaDir, migrationsDir = defaultMigrationsDir }) {
      const schema = await readSchema(schemaDir);
      const migrationsList = await readMigrations(migrationsDir);
      try {
        // Same sequence as `migrate dev --create-only`: bring the dev database up to date (reset first so the
        // session can be reused), let devDiagnostic check the history on a shadow database, then diff.
        await engine.reset({ filter: noFilter });
        await engine.applyMigrations({ migrationsList, filters: noFilter });
        const { action } = await engine.devDiagnostic({ migrationsList, filters: noFilter });
        if (action.tag === 'reset') throw new Error(`migration history needs a reset: ${action.reason}`);
        const out = await engine.createMigration({
          migrationName: name,
          migrationsList,
          schema,
          draft: false,
          filters: noFilter,
        });
        if (out.migrationScript === null) return { directory: null };
        const directory = path.join(migrationsDir, out.generatedMigrationName);
        if (existsSync(directory)) throw new Error(`migration directory already exists: ${directory}`);
        await mkdir(directory, { recursive: true });
        await writeFile(path.join(directory, `migration.${out.extension}`), out.migrationScript);
        if (migrationsList.lockfile.content === null) {
          const lock = `# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "${out.connectorType}"\n`;
          await writeFile(path.join(migrationsDir, migrationsList.lockfile.path), lock);
        }
        return { directory };
      } catch (e) {
        throw engineError(e);
      }
    },

    async diffMigrationsToSchema({ schemaDir = defaultSchemaDir, migrationsDir = defaultMigrationsDir } = {}) {
      const schema = await readSchema(schemaDir);
      const migrationsList = await readMigrations(migrationsDir);
      // The engine reads the provider from migration_lock.toml; without one there are no migrations yet.
      migrationsList.lockfile.content ??= 'provider = "postgresql"\n';
      try {
        // `migrate diff --from-migrations --to-schema --exit-code`: exit code 2 means they differ.
        const result = await engine.diff({
          from: { tag: 'migrations', ...migrationsList },
          to: { tag: 'schemaDatamodel', ...schema },
          script: true,
          exitCode: true,
          filters: noFilter,
        });
        const drifted = result.exitCode === 2;
        // With no drift the engine still prints "-- This is an empty migration.": report an empty script.
        return { drifted, script: drifted ? (result.stdout ?? '') : '' };
      } catch (e) {
        throw engineError(e);
      }
    },

    async close() {
      engine.free();
      await factory.close();
      if (--openEngines === 0) {
        for (const timer of pendingTimers) clearTimeout(timer);
        pendingTimers.clear();
      }
    },
  };
}

/** Writes `<migrationsDir>/<YYYYMMDDHHMMSS>_<name>/migration.sql` taking the migrations to the schema. */
export async function createMigration(options: { name: string } & Dirs): Promise<{ directory: string | null }> {
  const session = await openSchemaEngine(options);
  try {
    return await session.createMigration(options);
  } finally {
    await session.close();
  }
}

/** Whether the migrations, applied to an empty database, differ from the schema files (drift). */
export async function diffMigrationsToSchema(options: Dirs = {}): Promise<{ drifted: boolean; script: string }> {
  const session = await openSchemaEngine(options);
  try {
    return await session.diffMigrationsToSchema(options);
  } finally {
    await session.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Reading the schema and the migrations folder exactly as the Prisma CLI does.

async function readSchema(schemaDir: string): Promise<SchemasContainer> {
  const names = (await readdir(schemaDir, { recursive: true })).filter((n) => n.endsWith('.prisma')).sort();
  if (names.length === 0) throw new Error(`no .prisma files in ${schemaDir}`);
  const files = await Promise.all(
    names.map(async (n) => ({
      path: path.join(schemaDir, n),
      content: await readFile(path.join(schemaDir, n), 'utf8'),
    })),
  );
  return { files };
}

async function readMigrations(baseDir: string): Promise<MigrationList> {
  const lockPath = 'migration_lock.toml';
  const lockContent = await readFile(path.join(baseDir, lockPath), 'utf8').catch(() => null);
  const entries = await readdir(baseDir, { withFileTypes: true }).catch(() => []);
  const migrationDirectories = await Promise.all(
    entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort((a, b) => a.localeCompare(b))
      .map(async (name) => ({
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: await readFile(path.join(baseDir, name, 'migration.sql'), 'utf8').then(
            (value) => ({ tag: 'ok' as const, value }),
            (e: Error) => ({ tag: 'error' as const, value: e.message }),
          ),
        },
      })),
  );
  return { baseDir, lockfile: { path: lockPath, content: lockContent }, migrationDirectories, shadowDbInitScript: '' };
}

/** Engine errors carry a Rust span trace after the message: keep the message on one line, the rest as cause. */
function engineError(e: unknown): Error {
  const raw = panics.message ? `schema engine panic: ${panics.message}` : e instanceof Error ? e.message : String(e);
  panics.message = '';
  const lines = raw.split('\n');
  const traceStart = lines.findIndex((l) => /^\s+\d+: /.test(l));
  const message = (traceStart < 0 ? lines : lines.slice(0, traceStart))
    .map((l) => l.trim())
    .filter((l) => l && l !== 'Error:' && l !== 'external connector error')
    .join(' ');
  const migration = /migration_name="([^"]+)"/.exec(raw)?.[1];
  return new Error(migration ? `${message} (migration ${migration})` : message, { cause: e });
}
