export * from './ai-services.ts';
export * from './events.ts';
export * from './services.ts';
