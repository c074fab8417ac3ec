export * from './consume.ts';
export * from './publish.ts';
