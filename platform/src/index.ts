export * from './catalog.ts';
export * from './config.ts';
export * from './platform.ts';
export * from './compose.ts';
