-- The stats service's tables (schema `stats`). Only stats reads or writes them.
-- Written by hand: the sample and roll-up tables are partitioned by time, which Prisma's schema
-- language cannot express, so `stats` is not among the datasource's `schemas` and Prisma's diff
-- leaves the whole schema alone. Stats reaches these tables with SQL (COPY for samples).

CREATE SCHEMA IF NOT EXISTS "stats";

-- The platform's containers, as provisioning's container events announce them: stats' own
-- projection of who owns what (it never reads provisioning's tables).
CREATE TABLE "stats"."container" (
    "id" UUID NOT NULL,
    "node" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "docker_id" TEXT,
    "cpu_millis" INTEGER,
    "memory_bytes" BIGINT,
    "started_at" TIMESTAMPTZ(6),
    "removed_at" TIMESTAMPTZ(6),
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
    CONSTRAINT "container_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "container_owner_idx" ON "stats"."container"("owner");

-- A counter series: one container as a node's agent samples it (node and Docker short id).
-- `key` is what sample rows carry instead of the two texts.
CREATE TABLE "stats"."series" (
    "key" SERIAL NOT NULL,
    "node" TEXT NOT NULL,
    "ref" TEXT NOT NULL,
    "docker_id" TEXT,
    "name" TEXT,
    "image" TEXT,
    -- The platform's container id: from the container's label (the agent's inventory) or from
    -- provisioning's event naming its Docker id.
    "platform_id" UUID,
    "first_seen" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
    CONSTRAINT "series_pkey" PRIMARY KEY ("key")
);
CREATE UNIQUE INDEX "series_node_ref_key" ON "stats"."series"("node", "ref");
CREATE INDEX "series_platform_id_idx" ON "stats"."series"("platform_id");

-- The last sample batch stored per node: (epoch, seq) only grows, so a batch the broker
-- delivers again, or the agent sent twice, is recognised and stored once.
CREATE TABLE "stats"."ingest_cursor" (
    "node" TEXT NOT NULL,
    "epoch" BIGINT NOT NULL,
    "seq" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT now(),
    CONSTRAINT "ingest_cursor_pkey" PRIMARY KEY ("node")
);

-- Each node's agent as its last heartbeat told.
CREATE TABLE "stats"."node_agent" (
    "node" TEXT NOT NULL,
    "epoch" BIGINT NOT NULL,
    "last_heartbeat" TIMESTAMPTZ(6) NOT NULL,
    "interval_ms" INTEGER NOT NULL,
    "cpus" INTEGER NOT NULL,
    "memory_bytes" BIGINT NOT NULL,
    "source" TEXT NOT NULL,
    "source_reason" TEXT,
    "containers" INTEGER NOT NULL,
    "buffered" INTEGER NOT NULL,
    "dropped" BIGINT NOT NULL,
    CONSTRAINT "node_agent_pkey" PRIMARY KEY ("node")
);

-- Roll-ups are made up to `done_until`; a sample that lands behind it marks its bucket dirty.
CREATE TABLE "stats"."rollup_state" (
    "tier" TEXT NOT NULL,
    "done_until" TIMESTAMPTZ(6) NOT NULL,
    CONSTRAINT "rollup_state_pkey" PRIMARY KEY ("tier")
);
-- Buckets to (re)make: an append-only log (a mark never waits for a pass working on its bucket);
-- a pass takes a bucket once its newest mark is a little old (a backlog draining keeps marking).
CREATE TABLE "stats"."rollup_dirty" (
    "id" BIGSERIAL NOT NULL,
    "tier" TEXT NOT NULL,
    "bucket" TIMESTAMPTZ(6) NOT NULL,
    "marked_at" TIMESTAMPTZ(6) NOT NULL,
    CONSTRAINT "rollup_dirty_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "rollup_dirty_tier_bucket_idx" ON "stats"."rollup_dirty"("tier", "bucket");

-- Raw samples, one partition per day; partitions are made ahead and dropped whole at the end of
-- retention (stats' partition task), never emptied row by row.
CREATE TABLE "stats"."sample_raw" (
    "series" INTEGER NOT NULL,
    "t" TIMESTAMPTZ(3) NOT NULL,
    "cpu_usec" BIGINT NOT NULL,
    -- Percent of one core over the interval before `t`; null where a new counter series starts.
    "cpu_pct" REAL,
    "cpu_limit_millis" INTEGER,
    -- As `docker stats` counts it: usage less the inactive file cache.
    "mem_bytes" BIGINT NOT NULL,
    "mem_limit" BIGINT,
    "rx_bytes" BIGINT NOT NULL,
    "tx_bytes" BIGINT NOT NULL,
    "rx_packets" BIGINT NOT NULL,
    "tx_packets" BIGINT NOT NULL,
    "rx_rate" REAL,
    "tx_rate" REAL,
    "pids" INTEGER NOT NULL
) PARTITION BY RANGE ("t");
CREATE INDEX "sample_raw_series_t_idx" ON "stats"."sample_raw"("series", "t");
-- Roll-ups read a time range of every series: rows arrive in time order, so a BRIN index is tiny and enough.
CREATE INDEX "sample_raw_t_brin" ON "stats"."sample_raw" USING brin ("t");

-- Per-minute and per-hour roll-ups of each figure: min, avg, max and last.
CREATE TABLE "stats"."rollup_minute" (
    "series" INTEGER NOT NULL,
    "t" TIMESTAMPTZ(3) NOT NULL,
    "n" INTEGER NOT NULL,
    "last_t" TIMESTAMPTZ(3) NOT NULL,
    "cpu_min" REAL, "cpu_avg" REAL, "cpu_max" REAL, "cpu_last" REAL,
    "mem_min" BIGINT NOT NULL, "mem_avg" BIGINT NOT NULL, "mem_max" BIGINT NOT NULL, "mem_last" BIGINT NOT NULL,
    "rx_rate_min" REAL, "rx_rate_avg" REAL, "rx_rate_max" REAL, "rx_rate_last" REAL,
    "tx_rate_min" REAL, "tx_rate_avg" REAL, "tx_rate_max" REAL, "tx_rate_last" REAL,
    "rx_bytes_last" BIGINT NOT NULL,
    "tx_bytes_last" BIGINT NOT NULL,
    "pids_max" INTEGER NOT NULL,
    "pids_last" INTEGER NOT NULL,
    "cpu_limit_millis" INTEGER,
    "mem_limit" BIGINT,
    CONSTRAINT "rollup_minute_pkey" PRIMARY KEY ("series", "t")
) PARTITION BY RANGE ("t");

CREATE INDEX "rollup_minute_t_brin" ON "stats"."rollup_minute" USING brin ("t");

CREATE TABLE "stats"."rollup_hour" (LIKE "stats"."rollup_minute") PARTITION BY RANGE ("t");
ALTER TABLE "stats"."rollup_hour" ADD CONSTRAINT "rollup_hour_pkey" PRIMARY KEY ("series", "t");
