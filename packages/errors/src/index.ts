// The one registry of stable error codes (`extensions.code`). README's error table is checked against it.
import { GraphQLError, type GraphQLFormattedError } from 'graphql';

export const ERROR_CODES = {
  UNAUTHENTICATED: 'No valid credentials were presented, or they expired or were revoked.',
  FORBIDDEN: 'The caller is authenticated but not allowed to do this.',
  BAD_USER_INPUT: 'An argument is invalid; `extensions.field` names it when known.',
  NOT_FOUND: 'The object does not exist or is not visible to the caller.',
  CONFLICT: 'The change conflicts with existing data (e.g. a slug or email already taken).',
  RATE_LIMITED: 'Too many requests; `extensions.retryAfterSeconds` says when to retry.',
  QUOTA_EXCEEDED: "The organization's plan quota for this period is used up.",
  MFA_REQUIRED: 'A second factor is required to continue.',
  SERVICE_UNAVAILABLE: 'A dependency (database, store, upstream) is unavailable; retry later.',
  OPERATION_LIMIT_EXCEEDED: 'The operation is too deep, too wide or too costly.',
  GRAPHQL_PARSE_FAILED: 'The request is not valid GraphQL syntax.',
  GRAPHQL_VALIDATION_FAILED: 'The operation does not validate against the schema.',
  BAD_REQUEST: 'The HTTP request itself is malformed.',
  PERSISTED_QUERY_NOT_FOUND: 'The persisted query hash is unknown.',
  PERSISTED_QUERY_NOT_SUPPORTED: 'Persisted queries are not enabled.',
  OPERATION_RESOLUTION_FAILURE: 'The named operation was not found in the document.',
  INTERNAL_SERVER_ERROR: 'An unexpected error; `extensions.requestId` identifies it in the logs.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The HTTP status an error answers with when it is the whole answer (HTTP layer, /internal routes). */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  MFA_REQUIRED: 403,
  SERVICE_UNAVAILABLE: 503,
  OPERATION_LIMIT_EXCEEDED: 400,
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  BAD_REQUEST: 400,
  PERSISTED_QUERY_NOT_FOUND: 404,
  PERSISTED_QUERY_NOT_SUPPORTED: 400,
  OPERATION_RESOLUTION_FAILURE: 400,
  INTERNAL_SERVER_ERROR: 500,
};

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** An expected failure: its message and code reach the client unchanged. */
export class AppError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extensions, code } });
    this.name = 'AppError';
  }
}

export const unauthenticated = (message = 'Authentication required') => new AppError('UNAUTHENTICATED', message);
export const forbidden = (message = 'Not allowed') => new AppError('FORBIDDEN', message);
export const badUserInput = (message: string, field?: string) =>
  new AppError('BAD_USER_INPUT', message, field ? { field } : {});
export const notFound = (message = 'Not found') => new AppError('NOT_FOUND', message);
export const conflict = (message: string, field?: string) => new AppError('CONFLICT', message, field ? { field } : {});
export const serviceUnavailable = (message = 'Service temporarily unavailable') =>
  new AppError('SERVICE_UNAVAILABLE', message);

/**
 * Whether an error is an expected failure: a GraphQLError (ours, Apollo's parse/validation errors) or a
 * subgraph's error relayed by the gateway, carrying a registered code other than INTERNAL_SERVER_ERROR.
 */
export function isExpectedError(formatted: GraphQLFormattedError, error: unknown): boolean {
  const code = formatted.extensions?.code;
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  // A subgraph's error relayed by the gateway has the subgraph's JSON error object as originalError.
  const relayed = typeof original === 'object' && original !== null && !(original instanceof Error);
  return isErrorCode(code) && code !== 'INTERNAL_SERVER_ERROR' && (original instanceof GraphQLError || relayed);
}

/** The original error behind a formatted one (for logging its stack). */
export function originalError(error: unknown): unknown {
  return error instanceof GraphQLError ? (error.originalError ?? error) : error;
}

/**
 * Apollo `formatError`: expected errors pass (without stack traces); anything else becomes a bare
 * INTERNAL_SERVER_ERROR. The request id is added afterwards by the server, which knows it.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  if (isExpectedError(formatted, error)) {
    const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }
  return {
    message: 'Internal server error',
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  };
}

/** A GraphQL response body for errors raised outside GraphQL execution (HTTP layer, auth at the door). */
export function errorBody(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
  return { errors: [{ message, extensions: { ...extensions, code } }] };
}
