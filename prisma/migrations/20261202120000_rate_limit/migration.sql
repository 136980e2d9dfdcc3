-- The HTTP rate limiter's counters (schema `ratelimit`), owned by the kit like `bus`: the host's
-- router writes them, no service does. Written by hand and left out of the Prisma datasource's
-- `schemas` (as `stats` is): one raw statement per request is all that reaches it.

CREATE SCHEMA IF NOT EXISTS "ratelimit";

-- One row per (scope, subject, fixed window): the mutating requests a subject made to a service
-- (`scope`) in the window starting at `window_start`. Every replica counts into the same row,
-- so the limit holds across them.
CREATE TABLE "ratelimit"."window_count" (
    "scope" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "window_start" TIMESTAMPTZ(3) NOT NULL,
    "count" INTEGER NOT NULL,
    CONSTRAINT "window_count_pkey" PRIMARY KEY ("scope", "subject", "window_start")
);
-- Past windows are deleted by age.
CREATE INDEX "window_count_window_start_idx" ON "ratelimit"."window_count"("window_start");
