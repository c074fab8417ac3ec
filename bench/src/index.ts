// The bench's building blocks, for scenarios written elsewhere.
export * from './load/http-load.ts';
export * from './load/protocol.ts';
export * from './platform.ts';
export * from './scenario.ts';
export { expectGraphQLData, type HttpTarget, measureHttp } from './scenarios/http.ts';
export { SCENARIOS } from './scenarios/index.ts';
