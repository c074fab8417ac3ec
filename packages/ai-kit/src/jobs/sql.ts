// The statements of the job queue. Each is one statement (atomic on its own, no interactive transaction: PGlite's
// single session would make other queries wait for it). Times come from the database clock (now()), so replicas
// with skewed clocks agree on leases. Every write of a running job is guarded by `lease_owner = <this replica>`:
// a replica that lost its lease (expired and claimed by another, released, cancelled) changes nothing.

const TABLE = '"ai"."jobs"';
const ACTIVE_BY_ME = `"lease_owner" = $2 AND "status" = 'RUNNING'`;

/** $1 service, $2 operation, $3 organization, $4 user, $5 api key, $6 invocation, $7 input (json), $8 max attempts. */
export const SUBMIT = `
  INSERT INTO ${TABLE} ("service", "operation", "organization_id", "user_id", "api_key_id", "invocation_id", "input",
    "max_attempts")
  VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)
  ON CONFLICT ("invocation_id") DO NOTHING
  RETURNING *`;

export const BY_INVOCATION = `SELECT * FROM ${TABLE} WHERE "invocation_id" = $1`;

/** $1 id, $2 organization, $3 service: other organizations' and services' jobs are invisible. */
export const GET = `SELECT * FROM ${TABLE} WHERE "id" = $1 AND "organization_id" = $2 AND "service" = $3`;

/** A queued job is cancelled at once; a running one is flagged for its runner (which aborts it). */
export const CANCEL = `
  UPDATE ${TABLE} SET
    "status" = CASE WHEN "status" = 'QUEUED' THEN 'CANCELLED' ELSE "status" END,
    "finished_at" = CASE WHEN "status" = 'QUEUED' THEN now() ELSE "finished_at" END,
    "cancel_requested" = true,
    "updated_at" = now()
  WHERE "id" = $1 AND "organization_id" = $2 AND "service" = $3 AND "status" IN ('QUEUED', 'RUNNING')
  RETURNING *`;

/**
 * Jobs whose runner vanished (lease expired) and that must not run again: out of attempts → FAILED ABANDONED;
 * cancelled while their runner was gone → CANCELLED. $1 service.
 */
export const REAP = `
  UPDATE ${TABLE} j SET
    "status" = CASE WHEN j."cancel_requested" THEN 'CANCELLED' ELSE 'FAILED' END,
    "error" = CASE WHEN j."cancel_requested" THEN NULL ELSE jsonb_build_object(
      'code', 'ABANDONED',
      'message', 'The job was interrupted ' || j."attempts" || ' times and will not be retried.') END,
    "lease_owner" = NULL, "lease_until" = NULL, "finished_at" = now(), "updated_at" = now()
  FROM (
    SELECT "id" FROM ${TABLE}
    WHERE "service" = $1 AND "status" = 'RUNNING' AND "lease_until" < now()
      AND ("attempts" >= "max_attempts" OR "cancel_requested")
    ORDER BY "lease_until"
    LIMIT 100
    FOR UPDATE SKIP LOCKED
  ) expired
  WHERE j."id" = expired."id"
  RETURNING j.*`;

/**
 * Claims up to $5 jobs of service $1 with a handler here ($2 operations): queued ones, and running ones whose
 * runner's lease expired (a crashed replica), oldest first. SKIP LOCKED: competing replicas take different rows.
 * $3 owner, $4 lease (ms).
 */
export const CLAIM = `
  WITH claimable AS MATERIALIZED (
    SELECT "id" FROM ${TABLE}
    WHERE "service" = $1 AND "operation" = ANY($2::text[])
      AND ("status" = 'QUEUED' OR ("status" = 'RUNNING' AND "lease_until" < now()
        AND "attempts" < "max_attempts" AND NOT "cancel_requested"))
    ORDER BY "created_at"
    LIMIT $5
    FOR UPDATE SKIP LOCKED
  )
  UPDATE ${TABLE} j SET
    "status" = 'RUNNING', "lease_owner" = $3, "lease_until" = now() + $4::int * interval '1 millisecond',
    "attempts" = j."attempts" + 1, "started_at" = COALESCE(j."started_at", now()), "updated_at" = now()
  FROM claimable
  WHERE j."id" = claimable."id"
  RETURNING j.*`;

/** Extends the leases of $1 (ids) held by $2 by $3 ms; returns those still held, with their cancel flag. */
export const HEARTBEAT = `
  UPDATE ${TABLE} SET "lease_until" = now() + $3::int * interval '1 millisecond'
  WHERE "id" = ANY($1::uuid[]) AND ${ACTIVE_BY_ME}
  RETURNING "id", "cancel_requested"`;

/** The same answer without writing: between heartbeats, so a cancel is seen within one poll interval. */
export const WATCH = `
  SELECT "id", "cancel_requested" FROM ${TABLE} WHERE "id" = ANY($1::uuid[]) AND ${ACTIVE_BY_ME}`;

/** $1 id, $2 owner, $3 progress. */
export const PROGRESS = `
  UPDATE ${TABLE} SET "progress" = $3, "updated_at" = now() WHERE "id" = $1 AND ${ACTIVE_BY_ME} RETURNING *`;

/** $1 id, $2 owner, $3 SUCCEEDED | FAILED | CANCELLED, $4 result (json), $5 error (json). */
export const FINISH = `
  UPDATE ${TABLE} SET
    "status" = $3::text, "progress" = CASE WHEN $3::text = 'SUCCEEDED' THEN 1 ELSE "progress" END,
    "result" = $4::jsonb, "error" = $5::jsonb,
    "lease_owner" = NULL, "lease_until" = NULL, "finished_at" = now(), "updated_at" = now()
  WHERE "id" = $1 AND ${ACTIVE_BY_ME}
  RETURNING *`;

/**
 * A graceful stop hands its running jobs $1 (held by $2) back to the queue at once; the interrupted run does not
 * count as an attempt. One cancelled meanwhile ends CANCELLED instead.
 */
export const RELEASE = `
  UPDATE ${TABLE} SET
    "status" = CASE WHEN "cancel_requested" THEN 'CANCELLED' ELSE 'QUEUED' END,
    "finished_at" = CASE WHEN "cancel_requested" THEN now() ELSE NULL END,
    "attempts" = GREATEST("attempts" - 1, 0), "lease_owner" = NULL, "lease_until" = NULL, "updated_at" = now()
  WHERE "id" = ANY($1::uuid[]) AND ${ACTIVE_BY_ME}
  RETURNING *`;
