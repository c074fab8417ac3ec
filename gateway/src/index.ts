export * from './api-keys.ts';
export * from './authenticate.ts';
export * from './config.ts';
export * from './gateway.ts';
export * from './supergraph.ts';
