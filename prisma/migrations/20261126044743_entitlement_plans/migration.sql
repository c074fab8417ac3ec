-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "entitlement";

-- CreateTable
CREATE TABLE "entitlement"."plans" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "monthly_requests" INTEGER,
    "storage_bytes" BIGINT,
    "seats" INTEGER,
    "projects" INTEGER,
    "api_calls" INTEGER,
    "included_services" TEXT[],
    "sort_order" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "plans_pkey" PRIMARY KEY ("id")
);
