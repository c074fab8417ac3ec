-- AlterTable
ALTER TABLE "organization"."organizations" ADD COLUMN     "billing_email" TEXT,
ADD COLUMN     "deleted_at" TIMESTAMPTZ(3),
ADD COLUMN     "description" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "industry" TEXT,
ADD COLUMN     "settings" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "size" TEXT,
ADD COLUMN     "website" TEXT;
