-- AlterTable
ALTER TABLE "entitlement"."plans" ADD COLUMN     "currency" TEXT NOT NULL DEFAULT 'usd',
ADD COLUMN     "description" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "price_monthly_cents" INTEGER,
ADD COLUMN     "price_yearly_cents" INTEGER,
ADD COLUMN     "service_limits" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "stripe_price_monthly" TEXT,
ADD COLUMN     "stripe_price_yearly" TEXT,
ADD COLUMN     "trial_days" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateTable
CREATE TABLE "entitlement"."subscriptions" (
    "organization_id" UUID NOT NULL,
    "plan_id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "billing_cycle" TEXT NOT NULL DEFAULT 'monthly',
    "period_anchor" TIMESTAMPTZ(3) NOT NULL,
    "current_period_start" TIMESTAMPTZ(3) NOT NULL,
    "current_period_end" TIMESTAMPTZ(3) NOT NULL,
    "trial_end" TIMESTAMPTZ(3),
    "trial_used" BOOLEAN NOT NULL DEFAULT false,
    "cancel_at_period_end" BOOLEAN NOT NULL DEFAULT false,
    "pending_plan_id" TEXT,
    "pending_billing_cycle" TEXT,
    "suspended" BOOLEAN NOT NULL DEFAULT false,
    "suspended_reason" TEXT,
    "overrides" JSONB NOT NULL DEFAULT '{}',
    "stripe_customer_id" TEXT,
    "stripe_subscription_id" TEXT,
    "revision" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "subscriptions_pkey" PRIMARY KEY ("organization_id")
);

-- CreateTable
CREATE TABLE "entitlement"."usage_records" (
    "invocation_id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "user_id" UUID,
    "api_key_id" TEXT,
    "caller_kind" TEXT NOT NULL,
    "service" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "units" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "reason" TEXT,
    "succeeded" BOOLEAN NOT NULL,
    "latency_ms" INTEGER NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "period_start" TIMESTAMPTZ(3),
    "recorded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "usage_records_pkey" PRIMARY KEY ("invocation_id")
);

-- CreateTable
CREATE TABLE "entitlement"."quota_thresholds" (
    "organization_id" UUID NOT NULL,
    "service" TEXT NOT NULL,
    "metric" TEXT NOT NULL,
    "period_start" TIMESTAMPTZ(3) NOT NULL,
    "threshold" INTEGER NOT NULL,
    "used" INTEGER NOT NULL,
    "limit" INTEGER NOT NULL,
    "reached_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "quota_thresholds_pkey" PRIMARY KEY ("organization_id","service","metric","period_start","threshold")
);

-- CreateTable
CREATE TABLE "entitlement"."stripe_events" (
    "id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "organization_id" UUID,
    "outcome" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stripe_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "subscriptions_stripe_customer_id_key" ON "entitlement"."subscriptions"("stripe_customer_id");

-- CreateIndex
CREATE UNIQUE INDEX "subscriptions_stripe_subscription_id_key" ON "entitlement"."subscriptions"("stripe_subscription_id");

-- CreateIndex
CREATE INDEX "subscriptions_plan_id_idx" ON "entitlement"."subscriptions"("plan_id");

-- CreateIndex
CREATE INDEX "subscriptions_current_period_end_idx" ON "entitlement"."subscriptions"("current_period_end");

-- CreateIndex
CREATE INDEX "usage_records_organization_id_period_start_service_idx" ON "entitlement"."usage_records"("organization_id", "period_start", "service");

-- CreateIndex
CREATE INDEX "usage_records_organization_id_occurred_at_idx" ON "entitlement"."usage_records"("organization_id", "occurred_at");

-- CreateIndex
CREATE INDEX "usage_records_user_id_occurred_at_idx" ON "entitlement"."usage_records"("user_id", "occurred_at");

-- AddForeignKey
ALTER TABLE "entitlement"."subscriptions" ADD CONSTRAINT "subscriptions_plan_id_fkey" FOREIGN KEY ("plan_id") REFERENCES "entitlement"."plans"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
