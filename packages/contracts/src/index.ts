export * from './caller.ts';
export * from './define.ts';
export * from './entitlement.ts';
export * from './events.ts';
export * from './internal.ts';
