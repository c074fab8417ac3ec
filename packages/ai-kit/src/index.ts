// The AI wrapper kit: what every wrapper subgraph is made of (docs/adr/0008-ai-service-wrappers.md).
export { type AiConfig, aiConfig, upstreamSettings } from './config.ts';
export * from './jobs/index.ts';
export { type AiContext, AiRuntime, type JobView } from './runtime.ts';
export { commonSdl } from './sdl.ts';
export { bodyLimitFor, entitlementExtensions, wrapperService } from './service.ts';
export * from './upstream/index.ts';
export {
  type BinaryArgument,
  defineWrapper,
  describedOnly,
  type InputTools,
  type WrapperDefinition,
  wrapperModule,
  type WrapperOperation,
} from './wrapper.ts';
