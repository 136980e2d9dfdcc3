-- AlterTable
ALTER TABLE "provisioning"."operation" ADD COLUMN     "trace_parent" TEXT;
