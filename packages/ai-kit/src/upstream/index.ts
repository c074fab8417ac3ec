// The upstream HTTP client of the AI wrappers, and the SSRF-guarded fetch of user-supplied input URLs.
export { isPublicAddress } from './address-policy.ts';
export {
  type CallVerdict,
  CircuitBreaker,
  type CircuitPermit,
  type CircuitSettings,
  type CircuitState,
} from './circuit.ts';
export {
  type UpstreamCallOptions,
  UpstreamClient,
  type UpstreamClientOptions,
  type UpstreamSettings,
  type UpstreamStatus,
} from './client.ts';
export type { UnavailableReason } from './errors.ts';
export type { UpstreamHealth } from './health.ts';
export { type LatencySnapshot, LatencyWindow } from './latency.ts';
export { type FetchedInput, fetchInputUrl, type FetchInputUrlOptions, type ResolvedAddress } from './ssrf.ts';
