export * from './api-keys.ts';
export * from './authenticate.ts';
export * from './config.ts';
export * from './edge.ts';
export * from './gateway.ts';
export * from './limits.ts';
export * from './supergraph.ts';
