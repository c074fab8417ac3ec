import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // One graphql module instance for everything ("Cannot use GraphQLSchema from another module or realm").
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'subgraphs/*/test/**/*.test.ts',
      'gateway/test/**/*.test.ts',
      'platform/test/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: a few files at a time, each with its own database.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
