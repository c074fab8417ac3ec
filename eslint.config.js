// Lint rules that keep the architecture honest: no floating promises, sorted imports, process.env only in
// config modules, and import boundaries (no subgraph imports another subgraph; libraries import no service).
import js from '@eslint/js';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const SUBGRAPHS = {
  identity: '@g3d/identity',
  organization: '@g3d/organization',
  entitlement: '@g3d/entitlement',
  telemetry: '@g3d/telemetry',
  ai: '@g3d/ai-services',
};
const SERVICES = [...Object.values(SUBGRAPHS), '@g3d/gateway', '@g3d/platform'];

const boundary = (files, forbidden, message) => ({
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
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
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
  { files: ['packages/config/src/**', '**/config.ts'], rules: { 'no-restricted-syntax': 'off' } },
  ...Object.entries(SUBGRAPHS).map(([dir, name]) =>
    boundary(
      [`subgraphs/${dir}/**/*.ts`],
      SERVICES.filter((s) => s !== name),
      'A subgraph never imports another subgraph (or the gateway/platform): use federation or events.',
    ),
  ),
  boundary(['packages/**/*.ts'], SERVICES, 'Libraries under packages/ import no service.'),
  boundary(['gateway/**/*.ts'], Object.values(SUBGRAPHS), 'The gateway knows subgraphs only through the supergraph.'),
);
