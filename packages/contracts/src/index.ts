export * from './caller.ts';
export * from './define.ts';
export * from './events.ts';
export * from './internal.ts';
