-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "ipam";

-- CreateEnum
CREATE TYPE "ipam"."allocation_state" AS ENUM ('held', 'bound');

-- CreateTable
CREATE TABLE "ipam"."pool" (
    "name" TEXT NOT NULL,
    "cidr" TEXT NOT NULL,
    "range_start" TEXT NOT NULL,
    "range_end" TEXT NOT NULL,
    "gateway" TEXT,
    "exclude" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "segment" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "pool_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "ipam"."allocation" (
    "id" BIGSERIAL NOT NULL,
    "pool" TEXT NOT NULL,
    "segment" TEXT NOT NULL,
    "ip_num" BIGINT NOT NULL,
    "ip" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "state" "ipam"."allocation_state" NOT NULL,
    "held_until" TIMESTAMPTZ(6),
    "container_id" TEXT,
    "request_id" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "allocation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "pool_segment_idx" ON "ipam"."pool"("segment");

-- CreateIndex
CREATE INDEX "allocation_pool_state_idx" ON "ipam"."allocation"("pool", "state");

-- CreateIndex
CREATE INDEX "allocation_state_held_until_idx" ON "ipam"."allocation"("state", "held_until");

-- CreateIndex
CREATE INDEX "allocation_owner_idx" ON "ipam"."allocation"("owner");

-- CreateIndex
CREATE INDEX "allocation_request_id_idx" ON "ipam"."allocation"("request_id");

-- CreateIndex
CREATE UNIQUE INDEX "allocation_segment_ip_unique" ON "ipam"."allocation"("segment", "ip_num");

-- AddForeignKey
ALTER TABLE "ipam"."allocation" ADD CONSTRAINT "allocation_pool_fkey" FOREIGN KEY ("pool") REFERENCES "ipam"."pool"("name") ON DELETE RESTRICT ON UPDATE CASCADE;
