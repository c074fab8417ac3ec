// The scaffold of an AI service's wrapper (see scripts/new-ai-service.ts), from its registry entry.
import fs from 'node:fs';
import path from 'node:path';

import { AI_SERVICES, aiFieldName, aiTypeName } from '@g3d/manifest';

/** Writes the wrapper's folder and test under `root` and registers it; returns the files written. */
export function scaffoldAiService(slug: string, root: string): string[] {
  const service = AI_SERVICES.find((s) => s.slug === slug);
  if (!service) {
    throw new Error(`${slug} is not in the registry (packages/manifest/src/ai-services.ts): add its entry first`);
  }
  const servicesDir = path.join(root, 'subgraphs/ai/src/services');
  const folder = path.join(servicesDir, slug);
  if (fs.existsSync(folder)) throw new Error(`${path.relative(root, folder)} exists already`);
  const type = aiTypeName(slug);
  const field = aiFieldName(slug);
  const files: Record<string, string> = {
    [path.join(folder, 'schema.graphql')]:
      `# ${service.name} (${service.domain}): its operations and their types. Name types after the service
# (${type}…) or their subject; every Mutation field needs an entry in index.ts. Queries require ${service.scope}:read,
# mutations ${service.scope}:write (the kit's rules).
#
# extend type Mutation {
#   "What it does (requires ${service.scope}:write)."
#   example${type}(input: Example${type}Input!): Example${type}Result!
# }
`,
    [path.join(folder, 'index.ts')]:
      `// ${service.name}: ${service.domain}. Its operations call the upstream's \`POST {url}/v1/{operation}\`.
import { readFileSync } from 'node:fs';

import { defineWrapper } from '@g3d/ai-kit';

export default defineWrapper({
  slug: '${slug}',
  typeDefs: readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'),
  operations: {
    // example${type}: { mode: 'sync', input: (args) => args.input${service.meteredUnit ? `, units: (args) => 1 /* ${service.meteredUnit} */` : ''} },
  },
});
`,
    [path.join(root, `subgraphs/ai/test/${slug}.test.ts`)]:
      `// ${service.name} through its wrapper: describes itself; add a test per operation with known answers.
import { describe, expect, it } from 'vitest';

import { WRAPPERS } from '../src/services/index.ts';

describe('${slug}', () => {
  it('is registered with its operations', () => {
    expect(WRAPPERS['${slug}']?.slug).toBe('${slug}');
  });
});
`,
  };
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { flag: 'wx' });
  }
  const index = path.join(servicesDir, 'index.ts');
  fs.writeFileSync(index, withWrapper(fs.readFileSync(index, 'utf8'), slug, field));
  return [...Object.keys(files), index].map((file) => path.relative(root, file));
}

/** services/index.ts with the wrapper's import (kept sorted by path, as the linter wants) and map entry. */
export function withWrapper(source: string, slug: string, field: string): string {
  const lines = source.split('\n');
  const local = (line: string) => /^import \w+ from '\.\/[^']+';$/.test(line);
  const first = lines.findIndex(local);
  if (first < 0) throw new Error('services/index.ts: no wrapper imports found');
  let last = first;
  while (local(lines[last + 1] ?? '')) last += 1;
  const imports = [...lines.slice(first, last + 1), `import ${field} from './${slug}/index.ts';`].sort((a, b) =>
    (a.split("'")[1] ?? '').localeCompare(b.split("'")[1] ?? ''),
  );
  lines.splice(first, last - first + 1, ...imports);
  return lines.join('\n').replace(/\n};\s*$/, `\n  '${slug}': ${field},\n};\n`);
}
