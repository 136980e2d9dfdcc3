-- AlterTable
ALTER TABLE "provisioning"."container" ADD COLUMN     "secondary_endpoint_ip" TEXT;
