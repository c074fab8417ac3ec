// The generator of AI service wrappers: a registry slug becomes a folder in the same shape as the others, a test,
// and one sorted line in services/index.ts; a slug outside the registry or an existing folder is refused.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { wrapperModule } from '@g3d/ai-kit';
import { AI_SERVICES } from '@g3d/manifest';
import { describe, expect, it } from 'vitest';

import { scaffoldAiService } from '../scripts/lib/scaffold-ai-service.ts';

const repo = path.resolve(import.meta.dirname, '..');

function tempRepo(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'g3d-scaffold-'));
  const services = path.join(root, 'subgraphs/ai/src/services');
  fs.mkdirSync(services, { recursive: true });
  fs.copyFileSync(path.join(repo, 'subgraphs/ai/src/services/index.ts'), path.join(services, 'index.ts'));
  return root;
}

describe('npm run new:ai-service', () => {
  it('scaffolds a registry service: its folder, a test, and its line in services/index.ts', () => {
    const root = tempRepo();
    const written = scaffoldAiService('health-ai', root);
    expect(written).toEqual([
      'subgraphs/ai/src/services/health-ai/schema.graphql',
      'subgraphs/ai/src/services/health-ai/index.ts',
      'subgraphs/ai/test/health-ai.test.ts',
      'subgraphs/ai/src/services/index.ts',
    ]);
    const index = fs.readFileSync(path.join(root, 'subgraphs/ai/src/services/index.ts'), 'utf8');
    const imports = index.split('\n').filter((line) => line.startsWith('import ') && line.includes("'./"));
    expect(imports).toContain("import healthAi from './health-ai/index.ts';");
    expect([...imports].sort((a, b) => (a.split("'")[1] ?? '').localeCompare(b.split("'")[1] ?? ''))).toEqual(imports);
    expect(index).toContain("'health-ai': healthAi,");
    const wrapper = fs.readFileSync(path.join(root, 'subgraphs/ai/src/services/health-ai/index.ts'), 'utf8');
    expect(wrapper).toContain("slug: 'health-ai'");
    // The scaffolded SDL is a valid wrapper schema (comments only, until operations are declared).
    const sdl = fs.readFileSync(path.join(root, 'subgraphs/ai/src/services/health-ai/schema.graphql'), 'utf8');
    const facts = AI_SERVICES.find((s) => s.slug === 'health-ai');
    expect(() => wrapperModule(facts!, { slug: 'health-ai', typeDefs: sdl, operations: {} })).not.toThrow();
  });

  it('refuses a slug outside the registry and a folder that exists', () => {
    const root = tempRepo();
    expect(() => scaffoldAiService('no-such-ai', root)).toThrow(/not in the registry/);
    scaffoldAiService('legal-ai', root);
    expect(() => scaffoldAiService('legal-ai', root)).toThrow(/exists already/);
  });
});
