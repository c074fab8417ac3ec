// Durable asynchronous jobs of the AI wrappers: submit from a mutation, run on any replica, poll, cancel.
export { JobQueue, type JobQueueOptions } from './queue.ts';
export {
  GENERIC_JOB_FAILURE,
  type JobError,
  type JobHandler,
  type JobHandlerContext,
  type JobLogger,
  type JobRecord,
  type JobStatus,
  type JobSubmission,
  toJobError,
} from './types.ts';
