-- The audit log (schema `audit`), owned by the kit like `bus`: each service writes its entries
-- inside the transaction of the change they record (an entry commits if and only if the change
-- does); the host's router writes the entries of refused requests and of changes that hold no
-- transaction of their own. Written by hand and left out of the Prisma datasource's `schemas`
-- (as `stats` and `ratelimit` are): the kit's raw SQL is all that reaches it.

CREATE SCHEMA IF NOT EXISTS "audit";

CREATE TABLE "audit"."entry" (
    "seq" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- The service that recorded it.
    "source" TEXT NOT NULL,
    -- Who: the token's subject and role, the API token when one was used ('system' for the
    -- platform's own work: drift, reservation ends, sagas finishing).
    "actor" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "token_id" TEXT,
    -- What: `<type>.<verb>` (container.start), on which resource.
    "action" TEXT NOT NULL,
    "target_type" TEXT NOT NULL,
    "target_id" TEXT,
    -- The result: accepted (an operation started), succeeded, refused (4xx), failed (5xx or a
    -- saga that ended in failure), with the HTTP status and the reason when there is one.
    "result" TEXT NOT NULL,
    "status" INTEGER,
    "reason" TEXT,
    -- From where: the client's address and user agent, the request and trace ids.
    "source_ip" TEXT,
    "user_agent" TEXT,
    "request_id" TEXT,
    "trace_id" TEXT,
    -- Whether the entry was written in the change's own transaction.
    "in_transaction" BOOLEAN NOT NULL,
    "details" JSONB NOT NULL DEFAULT '{}',
    CONSTRAINT "entry_pkey" PRIMARY KEY ("seq"),
    CONSTRAINT "entry_result_check" CHECK ("result" IN ('accepted', 'succeeded', 'refused', 'failed'))
);
-- Operators' queries: by time, by actor, by action; owners': one resource's list.
CREATE INDEX "entry_at_idx" ON "audit"."entry"("at");
CREATE INDEX "entry_actor_at_idx" ON "audit"."entry"("actor", "at");
CREATE INDEX "entry_action_at_idx" ON "audit"."entry"("action", "at");
CREATE INDEX "entry_target_idx" ON "audit"."entry"("target_type", "target_id", "seq");
