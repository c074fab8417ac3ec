// Drift check: prisma/migrations must build exactly the schema in prisma/schema. One wasm schema engine
// for the whole file (starting it and its in-memory PGlite takes seconds).
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openSchemaEngine, type SchemaEngineSession } from '../src/schema-engine.ts';

const schemaDir = fileURLToPath(new URL('../../../prisma/schema', import.meta.url));

describe('prisma migrations', () => {
  let engine: SchemaEngineSession;
  let tmp: string;
  beforeAll(async () => {
    engine = await openSchemaEngine();
    tmp = await mkdtemp(path.join(tmpdir(), 'drift-'));
  });
  afterAll(async () => {
    await engine?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('match the schema (else run: npm run db:migration:new <name>)', async () => {
    const { drifted, script } = await engine.diffMigrationsToSchema();
    expect(drifted, `the migrations lack:\n${script}`).toBe(false);
  });

  it('detect a field missing from the migrations', async () => {
    await cp(schemaDir, tmp, { recursive: true });
    const file = path.join(tmp, 'identity.prisma');
    const source = await readFile(file, 'utf8');
    await writeFile(file, source.replace(/^(model User \{\n)/m, '$1  driftProbe String?\n'));
    const { drifted, script } = await engine.diffMigrationsToSchema({ schemaDir: tmp });
    expect(drifted).toBe(true);
    expect(script).toContain('"driftProbe"');
  });
});
