// The entitlement decision the AI wrappers take once per invocation, the metering that records each invocation
// durably before it is answered, and the store layout both share with the entitlement subgraph (which writes
// the records). See README "Entitlements and metering".
export * from './decider.ts';
export * from './decision.ts';
export * from './gate.ts';
export * from './keys.ts';
export * from './meter.ts';
export * from './plan-limits.ts';
export * from './record.ts';
export * from './refresh.ts';
export * from './scripts.ts';
export * from './writer.ts';
