export {
  checkAborted,
  decodeBase64,
  type Operation,
  operation,
  type OperationContext,
  type ServiceOperations,
  UpstreamError,
} from './protocol.ts';
export {
  createReferenceUpstream,
  DEFAULT_MAX_BODY_BYTES,
  type ReferenceUpstream,
  type ReferenceUpstreamOptions,
  type ServiceCounters,
  type ServiceSource,
} from './server.ts';
export { IMPLEMENTED } from './services/index.ts';
