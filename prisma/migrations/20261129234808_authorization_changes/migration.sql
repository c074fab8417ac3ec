-- CreateTable
CREATE TABLE "organization"."authorization_changes" (
    "user_id" UUID NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "authorization_changes_pkey" PRIMARY KEY ("user_id")
);

-- CreateIndex
CREATE INDEX "authorization_changes_changed_at_idx" ON "organization"."authorization_changes"("changed_at");
