// Lint rules that keep the architecture honest: no floating promises, sorted imports, process.env only in
// config modules, and import boundaries read from the service manifest (no subgraph imports another subgraph
// or the gateway; libraries import no service; the gateway knows subgraphs only through the supergraph).
import js from '@eslint/js';
import type { Linter } from 'eslint';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import globals from 'globals';
import tseslint from 'typescript-eslint';

import { SERVICES as MANIFEST } from './packages/manifest/src/index.ts';

/** Each service's folder and package, once per package (the 16 AI wrappers share one). */
const packages = new Map(MANIFEST.map((s) => [s.package, s.folder]));
const subgraphPackages = [...packages].filter(([name]) => name !== '@g3d/gateway');
const SERVICES = [...packages.keys(), '@g3d/platform'];

const boundary = (files: string[], forbidden: string[], message: string): Linter.Config => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: [{ group: forbidden.flatMap((name) => [name, `${name}/*`]), message }] },
    ],
  },
});

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      'packages/db/generated/**',
      '.data/**',
      '.turbo/**',
      'bench/results/**',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      // One program for the whole repository (a project per package would load every shared package's sources again
      // for each, and exhaust the heap).
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    plugins: { 'simple-import-sort': simpleImportSort },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      'simple-import-sort/imports': 'error',
      'simple-import-sort/exports': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message: 'Read settings only in a config module (packages/config or a file named config.ts).',
        },
      ],
    },
  },
  // Config modules read settings; test fixtures run as child processes and take their parameters from env.
  {
    files: ['packages/config/src/**', '**/config.ts', '**/test/fixtures/**'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  ...subgraphPackages.map(([name, folder]) =>
    boundary(
      [`${folder}/**/*.ts`],
      SERVICES.filter((s) => s !== name),
      'A subgraph never imports another subgraph (or the gateway/platform): use federation or events.',
    ),
  ),
  // A subgraph's module tests may start the services it calls or asks (identity's run organization, which it asks
  // for memberships at every login; organization's run entitlement, which owns the seats) on the test harness,
  // and with them the services those need; its code may not.
  ...MANIFEST.filter((s) => s.kind !== 'gateway' && s.calls.length + s.asks.length > 0).map((s) => {
    const needed = new Set([...s.calls, ...s.asks]);
    for (const name of [...needed]) {
      const peer = MANIFEST.find((p) => p.name === name);
      for (const further of [...(peer?.calls ?? []), ...(peer?.asks ?? [])]) needed.add(further);
    }
    const started = new Set(MANIFEST.filter((peer) => needed.has(peer.name)).map((peer) => peer.package));
    return boundary(
      [`${s.folder}/test/**/*.ts`],
      SERVICES.filter((name) => name !== s.package && !started.has(name)),
      'A subgraph test may start only the services its subgraph calls or asks (manifest `calls`, `asks`), and theirs.',
    );
  }),
  boundary(['packages/**/*.ts'], SERVICES, 'Libraries under packages/ import no service.'),
  boundary(
    ['gateway/**/*.ts'],
    subgraphPackages.map(([name]) => name),
    'The gateway knows subgraphs only through the supergraph.',
  ),
);
