export * from './compose.ts';
export * from './config.ts';
export * from './docker-compose.ts';
export * from './key-bundles.ts';
export * from './platform.ts';
export * from './seed.ts';
export * from './services.ts';
