// Test infrastructure: real databases and stores (a fresh one per test file), the subgraph harness, and the
// operations tests share.
export * from './config.ts';
export * from './database.ts';
export * from './harness.ts';
export * from './operations.ts';
