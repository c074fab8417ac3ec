// The service manifest is the one list of services: the database schema lists, the lint boundaries, the
// event contracts, the workspaces and the README's service table must agree with it (docker-compose.yml and
// the supergraph are generated from it and checked in docker-compose.test.ts and supergraph.test.ts).
import fs from 'node:fs';
import path from 'node:path';

import { EVENTS } from '@g3d/contracts';
import { DATABASE_SCHEMAS, EVENT_TOPICS, portSetting, SERVICES, SUBGRAPHS } from '@g3d/manifest';
import { subgraphDefinitions } from '@g3d/platform';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

describe('service manifest', () => {
  it('names each service once, with its own default port', () => {
    expect(new Set(SERVICES.map((s) => s.name)).size).toBe(SERVICES.length);
    expect(new Set(SERVICES.map((s) => s.defaultPort)).size).toBe(SERVICES.length);
    expect(new Set(SERVICES.map((s) => portSetting(s.name))).size).toBe(SERVICES.length);
  });

  it('every subgraph package exports a service definition whose schema is named after its entry', async () => {
    for (const { declaration, definition } of await subgraphDefinitions()) {
      expect(definition.schema(declaration).name, declaration.package).toBe(declaration.name);
    }
  });

  it('prisma/schema/schema.prisma lists exactly the PostgreSQL schemas of the manifest', () => {
    const listed = /schemas\s*=\s*\[([^\]]*)\]/.exec(read('prisma/schema/schema.prisma'))?.[1] ?? '';
    const schemas = [...listed.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
    expect(schemas.sort()).toEqual([...DATABASE_SCHEMAS].sort());
    const used = new Set(
      fs
        .readdirSync(path.join(root, 'prisma/schema'))
        .flatMap((file) => [...read(`prisma/schema/${file}`).matchAll(/@@schema\("([^"]+)"\)/g)].map((m) => m[1])),
    );
    expect([...used].sort()).toEqual([...DATABASE_SCHEMAS].sort());
  });

  it('every event topic has one contract, a publisher, and consumers that exist', () => {
    expect(EVENTS.map((e) => e.topic).sort()).toEqual([...EVENT_TOPICS].sort());
    for (const topic of EVENT_TOPICS) {
      expect(SUBGRAPHS.filter((s) => s.publishes.includes(topic)).length, topic).toBe(1);
    }
  });

  it('the workspaces include every service folder', () => {
    const workspaces = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;
    const listed = (folder: string) => workspaces.includes(folder) || workspaces.includes(`${path.dirname(folder)}/*`);
    for (const service of SERVICES) expect(listed(service.folder), service.name).toBe(true);
  });

  it('ESLint forbids each subgraph from importing any other service (boundaries read from the manifest)', async () => {
    const eslint = new ESLint({ cwd: root });
    const packages = [...new Set(SERVICES.map((s) => s.package))];
    for (const service of SUBGRAPHS) {
      const config = (await eslint.calculateConfigForFile(path.join(root, service.folder, 'src/index.ts'))) as {
        rules: Record<string, [string, { patterns: { group: string[] }[] }]>;
      };
      const forbidden = config.rules['no-restricted-imports']?.[1].patterns.flatMap((p) => p.group) ?? [];
      for (const other of packages.filter((p) => p !== service.package)) {
        expect(forbidden, `${service.name} may import ${other}`).toContain(other);
      }
      expect(forbidden).not.toContain(service.package);
    }
  });

  it("the README's service table lists every service with its port setting and default port", () => {
    const readme = read('README.md');
    for (const service of SERVICES) {
      expect(readme).toMatch(
        new RegExp(
          `^\\| \`${service.name}\` +\\| \`${portSetting(service.name)}\` +\\| ${service.defaultPort} +\\|`,
          'm',
        ),
      );
    }
  });
});
