/**
 * The V8 settings the standalone agent runs with, on node's command line (the Dockerfile, the
 * systemd unit, the benchmark): its work is a few hundred small reads and one encode every few
 * seconds, and what costs is memory, against a limit of 64 MB of which node itself takes 39.
 * - `--lite-mode` (no optimizing compiler, bytecode flushed early): with 100 containers at 3 s,
 *   64-65 MB resident without it against 55-56 MB with it, at the same 0.5-0.7 % of a core;
 * - `--max-semi-space-size=2`: the young generation never grows past 2 MB; allocation bursts (a
 *   Docker event storm) otherwise grow it to 16-32 MB, seen as peaks of 63 MB.
 * On the command line, not set by the process itself: V8 flags changed after start are undefined
 * behaviour (lite mode set at run time crashed V8's regular expression interpreter under tsx).
 */
export const AGENT_NODE_FLAGS = ['--lite-mode', '--max-semi-space-size=2'] as const;
