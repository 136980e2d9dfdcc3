-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "quota";

-- CreateEnum
CREATE TYPE "quota"."admission_decision" AS ENUM ('granted', 'rejected');

-- CreateTable
CREATE TABLE "quota"."user" (
    "name" TEXT NOT NULL,
    "max_containers" INTEGER,
    "max_cpu_millis" INTEGER,
    "max_memory_bytes" BIGINT,
    "max_addresses" INTEGER,
    "max_concurrent_reservations" INTEGER,
    "created_via" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "user_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "quota"."node" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "removed_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "node_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "quota"."admission" (
    "request_id" TEXT NOT NULL,
    "user" TEXT NOT NULL,
    "node" TEXT NOT NULL,
    "count" INTEGER NOT NULL,
    "cpu_millis" INTEGER NOT NULL,
    "memory_bytes" BIGINT NOT NULL,
    "addresses" INTEGER NOT NULL,
    "decision" "quota"."admission_decision" NOT NULL,
    "reason" TEXT,
    "code" TEXT,
    "held_count" INTEGER NOT NULL,
    "held_until" TIMESTAMPTZ(6),
    "released_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "admission_pkey" PRIMARY KEY ("request_id")
);

-- CreateTable
CREATE TABLE "quota"."container_usage" (
    "container_id" TEXT NOT NULL,
    "user" TEXT NOT NULL,
    "node" TEXT NOT NULL,
    "request_id" TEXT,
    "cpu_millis" INTEGER NOT NULL,
    "memory_bytes" BIGINT NOT NULL,
    "addresses" INTEGER NOT NULL,
    "started_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "container_usage_pkey" PRIMARY KEY ("container_id")
);

-- CreateTable
CREATE TABLE "quota"."reservation" (
    "id" UUID NOT NULL,
    "user" TEXT NOT NULL,
    "node_names" TEXT[],
    "starts_at" TIMESTAMPTZ(6) NOT NULL,
    "ends_at" TIMESTAMPTZ(6) NOT NULL,
    "request_key" TEXT,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,
    "cancelled_at" TIMESTAMPTZ(6),
    "started_event_at" TIMESTAMPTZ(6),
    "ending_event_at" TIMESTAMPTZ(6),
    "ended_event_at" TIMESTAMPTZ(6),

    CONSTRAINT "reservation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "quota"."reservation_slot" (
    "reservation_id" UUID NOT NULL,
    "node_id" INTEGER NOT NULL,
    "starts_at" TIMESTAMPTZ(6) NOT NULL,
    "ends_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "reservation_slot_pkey" PRIMARY KEY ("reservation_id","node_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "node_name_key" ON "quota"."node"("name");

-- CreateIndex
CREATE INDEX "admission_user_held_until_idx" ON "quota"."admission"("user", "held_until");

-- CreateIndex
CREATE INDEX "container_usage_user_idx" ON "quota"."container_usage"("user");

-- CreateIndex
CREATE UNIQUE INDEX "reservation_request_key_key" ON "quota"."reservation"("request_key");

-- CreateIndex
CREATE INDEX "reservation_user_ends_at_idx" ON "quota"."reservation"("user", "ends_at");

-- CreateIndex
CREATE INDEX "reservation_ended_event_at_starts_at_idx" ON "quota"."reservation"("ended_event_at", "starts_at");

-- CreateIndex
CREATE INDEX "reservation_slot_node_id_starts_at_idx" ON "quota"."reservation_slot"("node_id", "starts_at");

-- AddForeignKey
ALTER TABLE "quota"."reservation_slot" ADD CONSTRAINT "reservation_slot_reservation_id_fkey" FOREIGN KEY ("reservation_id") REFERENCES "quota"."reservation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "quota"."reservation_slot" ADD CONSTRAINT "reservation_slot_node_id_fkey" FOREIGN KEY ("node_id") REFERENCES "quota"."node"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Added by hand (Prisma cannot express these; `npm run db:migrate:create` leaves them alone).
-- No two slots of one node overlap in time, whatever the concurrency: the database's own guarantee.
-- The node is compared as a one-point int4range with `&&` rather than `node_id WITH =`: GiST has
-- no operator class for plain integer equality without the btree_gist extension, and this way the
-- constraint needs no extension on Postgres or PGlite.
ALTER TABLE "quota"."reservation_slot" ADD CONSTRAINT "reservation_slot_no_overlap"
    EXCLUDE USING gist (int4range("node_id", "node_id", '[]') WITH &&, tstzrange("starts_at", "ends_at", '[)') WITH &&);

-- A window ends after it starts (the API says so first, naming the field).
ALTER TABLE "quota"."reservation" ADD CONSTRAINT "reservation_window_check" CHECK ("ends_at" > "starts_at");
ALTER TABLE "quota"."reservation_slot" ADD CONSTRAINT "reservation_slot_window_check" CHECK ("ends_at" > "starts_at");
