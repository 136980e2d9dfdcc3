-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "provisioning";

-- CreateTable
CREATE TABLE "provisioning"."node" (
    "name" TEXT NOT NULL,
    "docker_host" TEXT NOT NULL,
    "tls_ca_path" TEXT,
    "tls_cert_path" TEXT,
    "tls_key_path" TEXT,
    "tls_secret_ref" TEXT,
    "insecure" BOOLEAN NOT NULL DEFAULT false,
    "macvlan_parent" TEXT,
    "experiment_pool" TEXT NOT NULL DEFAULT 'experiment',
    "secondary_pool" TEXT NOT NULL DEFAULT 'secondary',
    "labels" JSONB NOT NULL DEFAULT '{}',
    "schedulable" BOOLEAN NOT NULL DEFAULT true,
    "health_state" TEXT NOT NULL DEFAULT 'unknown',
    "health_error" TEXT,
    "last_seen_at" TIMESTAMPTZ(6),
    "docker_version" TEXT,
    "network_name" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "node_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "provisioning"."container" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "node" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "image" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "docker_id" TEXT,
    "pool" TEXT NOT NULL,
    "ip" TEXT NOT NULL,
    "mac" TEXT,
    "secondary_pool" TEXT,
    "secondary_ip" TEXT,
    "secondary_network" TEXT,
    "cpu_millis" INTEGER NOT NULL,
    "memory_bytes" BIGINT NOT NULL,
    "pids_limit" INTEGER NOT NULL,
    "operation_id" UUID NOT NULL,
    "admission_id" TEXT NOT NULL,
    "item_index" INTEGER NOT NULL,
    "error" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(6),
    "removed_at" TIMESTAMPTZ(6),
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "container_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "provisioning"."operation" (
    "id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "request" JSONB NOT NULL,
    "result" JSONB,
    "error" JSONB,
    "items" JSONB NOT NULL DEFAULT '[]',
    "saga" JSONB NOT NULL DEFAULT '{}',
    "idempotency_key" TEXT,
    "cancel_requested" BOOLEAN NOT NULL DEFAULT false,
    "claimed_by" TEXT,
    "claimed_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "operation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "provisioning"."batch" (
    "id" UUID NOT NULL,
    "operation_id" UUID NOT NULL,
    "owner" TEXT NOT NULL,
    "name_prefix" TEXT NOT NULL,
    "count" INTEGER NOT NULL,
    "nodes" TEXT[],
    "placement" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "batch_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "provisioning"."network" (
    "name" TEXT NOT NULL,
    "pool" TEXT NOT NULL,
    "nodes" TEXT[],
    "owner" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "network_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE INDEX "container_node_state_idx" ON "provisioning"."container"("node", "state");

-- CreateIndex
CREATE INDEX "container_owner_idx" ON "provisioning"."container"("owner");

-- CreateIndex
CREATE INDEX "container_operation_id_idx" ON "provisioning"."container"("operation_id");

-- CreateIndex
CREATE UNIQUE INDEX "operation_idempotency_key_key" ON "provisioning"."operation"("idempotency_key");

-- CreateIndex
CREATE INDEX "operation_owner_state_idx" ON "provisioning"."operation"("owner", "state");

-- CreateIndex
CREATE INDEX "operation_state_claimed_at_idx" ON "provisioning"."operation"("state", "claimed_at");

-- CreateIndex
CREATE UNIQUE INDEX "batch_operation_id_key" ON "provisioning"."batch"("operation_id");
