export * from './registry.ts';
export * from './wrapper.ts';
