export * from './http.ts';
export * from './loaders.ts';
export * from './logger.ts';
export * from './rule-coverage.ts';
export * from './scalars.ts';
export * from './sdl.ts';
export * from './shield.ts';
export * from './subgraph.ts';
