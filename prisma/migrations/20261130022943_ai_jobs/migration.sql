-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "ai";

-- CreateTable
CREATE TABLE "ai"."jobs" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "service" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "organization_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "api_key_id" UUID,
    "invocation_id" UUID NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'QUEUED',
    "progress" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "input" JSONB NOT NULL,
    "result" JSONB,
    "error" JSONB,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "max_attempts" INTEGER NOT NULL DEFAULT 3,
    "lease_owner" TEXT,
    "lease_until" TIMESTAMPTZ(3),
    "cancel_requested" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "jobs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "jobs_invocation_id_key" ON "ai"."jobs"("invocation_id");

-- CreateIndex
CREATE INDEX "jobs_service_status_created_at_idx" ON "ai"."jobs"("service", "status", "created_at");

-- CreateIndex
CREATE INDEX "jobs_service_status_lease_until_idx" ON "ai"."jobs"("service", "status", "lease_until");

-- CreateIndex
CREATE INDEX "jobs_organization_id_created_at_idx" ON "ai"."jobs"("organization_id", "created_at" DESC);

-- AddCheckConstraint (hand-written: Prisma's schema language has no CHECK; its diff ignores them)
ALTER TABLE "ai"."jobs" ADD CONSTRAINT "jobs_status_check" CHECK ("status" IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'));
ALTER TABLE "ai"."jobs" ADD CONSTRAINT "jobs_progress_check" CHECK ("progress" >= 0 AND "progress" <= 1);
