-- AlterTable
ALTER TABLE "provisioning"."node" ADD COLUMN     "cpu_count" INTEGER,
ADD COLUMN     "memory_bytes" BIGINT;
