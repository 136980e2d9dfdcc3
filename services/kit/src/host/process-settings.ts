/**
 * How a service process (ipam, provisioning, quota, stats) is started, wherever it runs: its
 * image's CMD and ENV, `npm run start:services`, the tests that start it as a process and the
 * benchmarks. Idle, a service held 190-225 MB resident; with these, 92-100 MB (2026-12-07) at the same
 * start-up time (bench/startup-memory.ts, README "Benchmarks").
 * - `--max-semi-space-size=4`: V8's young generation stays at 4 MB a half instead of growing to
 *   16 MB in the allocation bursts of start-up (module loading, the Prisma client, Kafka's group
 *   join) and keeping them. 1 MB saved a few MB more but cost ipam a fifth of its allocations/s at
 *   64 clients (scavenges); 2 MB spent 20-50 ms of a start in the collector.
 * - `--wasm-tiering-budget=18000000` (ten times V8's default): the only WebAssembly a service runs
 *   is Prisma's query compiler, once per query shape (the client caches the plans; none runs in a
 *   steady load), so its functions stay on V8's baseline compiler instead of being recompiled by
 *   the optimizing one on the second core while Postgres and Kafka answer the start. With the
 *   semi-space above, a start spent 10-30 % less CPU at the same resident memory (the budget
 *   alone saved 8-9 MB, the larger semi-space took them back).
 * - `MALLOC_ARENA_MAX=1`: glibc gives each thread that allocates its own arena (64 MB reserved,
 *   partly touched), and Node's threads (libuv's pool, V8's compiler and GC helpers) each kept one.
 *   What allocates with malloc here is little and mostly on the main thread.
 * On the command line and in the environment, not set by the process itself: V8 flags changed
 * after start are undefined behaviour, and malloc reads its variable before main runs.
 */
export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=4', '--wasm-tiering-budget=18000000'] as const;
/**
 * The services started so (the node agent has flags of its own, the portal and the embedded
 * default none); their bundles' code caches are written with these flags too (deploy/build).
 */
export const SERVICES_WITH_PROCESS_SETTINGS: readonly string[] = ['ipam', 'provisioning', 'quota', 'stats'];
export const SERVICE_PROCESS_ENV = { MALLOC_ARENA_MAX: '1' } as const;
