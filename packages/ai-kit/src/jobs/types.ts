// The job record as callers see it, mapped from ai.jobs rows, and the error a failed job keeps: a registered code
// and a message the client may read, never a stack trace or an unexpected error's text.
import { isErrorCode } from '@g3d/errors';

export type JobStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

export interface JobError {
  code: string;
  message: string;
}

export interface JobRecord {
  id: string;
  service: string;
  operation: string;
  organizationId: string;
  userId: string;
  apiKeyId: string | null;
  invocationId: string;
  status: JobStatus;
  progress: number;
  input: unknown;
  result: unknown | null;
  error: JobError | null;
  attempts: number;
  maxAttempts: number;
  cancelRequested: boolean;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
}

export interface JobHandlerContext {
  /** Aborted when the job is cancelled, its lease is lost or the replica stops: pass it to the upstream call. */
  signal: AbortSignal;
  /** Reports progress (0..1); writes are throttled, so call it as often as convenient. */
  progress(fraction: number): Promise<void>;
  /** 1 for the first run, 2 when a replica died during the first, … */
  attempt: number;
}

export type JobHandler = (input: unknown, context: JobHandlerContext) => Promise<unknown>;

export interface JobLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface JobSubmission {
  operation: string;
  organizationId: string;
  userId: string;
  apiKeyId?: string | null;
  /** The invocation's usage record id: submitting it again returns the job it created. */
  invocationId: string;
  input: unknown;
  /** Claims before a job whose runs keep being interrupted is given up (FAILED ABANDONED). Default 3. */
  maxAttempts?: number;
}

/** A row of ai.jobs as pg returns it (jsonb parsed, timestamptz as Date). */
export interface JobRow {
  id: string;
  service: string;
  operation: string;
  organization_id: string;
  user_id: string;
  api_key_id: string | null;
  invocation_id: string;
  status: JobStatus;
  progress: number;
  input: unknown;
  result: unknown;
  error: JobError | null;
  attempts: number;
  max_attempts: number;
  lease_owner: string | null;
  lease_until: Date | null;
  cancel_requested: boolean;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
}

export function toJobRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    service: row.service,
    operation: row.operation,
    organizationId: row.organization_id,
    userId: row.user_id,
    apiKeyId: row.api_key_id,
    invocationId: row.invocation_id,
    status: row.status,
    progress: row.progress,
    input: row.input,
    result: row.result ?? null,
    error: row.error ?? null,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    cancelRequested: row.cancel_requested,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    updatedAt: row.updated_at,
  };
}

export const GENERIC_JOB_FAILURE = 'The job failed because of an unexpected error.';

/**
 * What a failed job keeps of its error: an expected failure (a GraphQLError/AppError-like error whose
 * `extensions.code` is a registered code) keeps its code and message; anything else is masked, like the API
 * masks unexpected errors (the runner logs it with its stack).
 */
export function toJobError(error: unknown): { error: JobError; expected: boolean } {
  const code = (error as { extensions?: { code?: unknown } } | null)?.extensions?.code;
  if (error instanceof Error && isErrorCode(code) && code !== 'INTERNAL_SERVER_ERROR') {
    return { error: { code, message: error.message.slice(0, 1000) }, expected: true };
  }
  return { error: { code: 'INTERNAL_SERVER_ERROR', message: GENERIC_JOB_FAILURE }, expected: false };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string) => UUID.test(value);
