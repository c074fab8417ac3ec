-- Mail becomes platform infrastructure (packages/mail), shared by every subgraph that sends mail. Moved, not
-- recreated (hand-edited from the generated DROP + CREATE): queued mail survives the upgrade.
CREATE SCHEMA IF NOT EXISTS "mail";
ALTER TABLE "identity"."mail_outbox" SET SCHEMA "mail";

-- AlterTable
ALTER TABLE "organization"."organizations" ADD COLUMN     "billing_address" TEXT,
ADD COLUMN     "tax_id" TEXT;

-- CreateTable
CREATE TABLE "organization"."invitations" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "email" TEXT NOT NULL,
    "roles" TEXT[],
    "token_hash" TEXT NOT NULL,
    "invited_by" UUID NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "accepted_at" TIMESTAMPTZ(3),
    "accepted_by" UUID,
    "revoked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "invitations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "organization"."audit_events" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "actor_id" UUID,
    "subject_id" UUID,
    "type" TEXT NOT NULL,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "invitations_token_hash_key" ON "organization"."invitations"("token_hash");

-- CreateIndex
CREATE INDEX "invitations_organization_id_created_at_idx" ON "organization"."invitations"("organization_id", "created_at");

-- CreateIndex
CREATE INDEX "invitations_email_idx" ON "organization"."invitations"("email");

-- CreateIndex
CREATE INDEX "audit_events_organization_id_created_at_idx" ON "organization"."audit_events"("organization_id", "created_at");

-- AddForeignKey
ALTER TABLE "organization"."invitations" ADD CONSTRAINT "invitations_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organization"."organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Append-only organization audit log (hand-written: Prisma does not model triggers).
CREATE FUNCTION "organization"."audit_events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'organization.audit_events is append-only';
END;
$$;

CREATE TRIGGER "audit_events_append_only"
  BEFORE UPDATE OR DELETE ON "organization"."audit_events"
  FOR EACH ROW EXECUTE FUNCTION "organization"."audit_events_append_only"();
