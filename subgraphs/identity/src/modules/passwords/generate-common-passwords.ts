// Regenerates common-passwords.txt from the ranked list in @zxcvbn-ts/language-common (see common-passwords.README.md).
// Usage: node --import tsx subgraphs/identity/src/modules/passwords/generate-common-passwords.ts <path/to/passwords.json>
import { readFileSync, writeFileSync } from 'node:fs';

const COUNT = 3_000;

const source = process.argv[2];
if (!source) throw new Error('usage: generate-common-passwords.ts <path/to/passwords.json>');

const ranked: unknown = JSON.parse(readFileSync(source, 'utf8'));
if (!Array.isArray(ranked)) throw new Error(`${source}: expected a JSON array`);

// First COUNT distinct lowercased entries, in rank order (most common first).
const seen = new Set<string>();
for (const entry of ranked) {
  if (seen.size === COUNT) break;
  if (typeof entry !== 'string') continue;
  const password = entry.toLowerCase();
  if (password === '' || /[\r\n]/.test(password)) continue;
  seen.add(password);
}
if (seen.size !== COUNT) throw new Error(`${source}: only ${seen.size} distinct entries`);

const target = new URL('./common-passwords.txt', import.meta.url);
writeFileSync(target, [...seen].join('\n') + '\n');
console.log(`wrote ${seen.size} passwords to ${target.pathname}`);
