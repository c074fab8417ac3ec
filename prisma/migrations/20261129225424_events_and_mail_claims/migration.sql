-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "events";

-- AlterTable
ALTER TABLE "mail"."mail_outbox" ADD COLUMN     "claimed_until" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "events"."event_log" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "topic" TEXT NOT NULL,
    "producer" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "event_log_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "events"."event_deliveries" (
    "event_id" UUID NOT NULL,
    "consumer" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,
    "delivered_at" TIMESTAMPTZ(3),

    CONSTRAINT "event_deliveries_pkey" PRIMARY KEY ("consumer","event_id")
);

-- CreateIndex
CREATE INDEX "event_log_topic_created_at_idx" ON "events"."event_log"("topic", "created_at");

-- CreateIndex
CREATE INDEX "event_deliveries_consumer_status_next_attempt_at_idx" ON "events"."event_deliveries"("consumer", "status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "mail_outbox_sent_at_attempts_idx" ON "mail"."mail_outbox"("sent_at", "attempts");

-- AddForeignKey
ALTER TABLE "events"."event_deliveries" ADD CONSTRAINT "event_deliveries_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "events"."event_log"("id") ON DELETE CASCADE ON UPDATE CASCADE;
