-- CreateTable
CREATE TABLE "identity"."security_locks" (
    "key" TEXT NOT NULL,
    "locked_until" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "security_locks_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "security_locks_locked_until_idx" ON "identity"."security_locks"("locked_until");
