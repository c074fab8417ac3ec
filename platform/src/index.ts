export * from './catalog.ts';
export * from './compose.ts';
export * from './config.ts';
export * from './platform.ts';
