export * from './caller.ts';
export * from './keys.ts';
export * from './rbac.ts';
export * from './rules.ts';
export * from './secrets.ts';
export * from './tokens.ts';
