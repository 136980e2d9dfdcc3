/**
 * `npm run bench:restart` (rig up): the provisioning process killed during a batch and started
 * again (the restart test's scenario), timed: what the kill left, how long the new process took to
 * be ready, and to converge. Addresses 10.64.98.230-249 (BENCH_RESTART_COUNT ≤ 10 of them, and the
 * block's ten spare); every wait is bounded.
 */
import { startRestartScenario } from '@testbed/test-support/fixtures/restart-scenario';
import { eventually } from '@testbed/test-support/wait';

const COUNT = Number(process.env.BENCH_RESTART_COUNT ?? 10);

const tally = (xs: { state: string }[]) => {
  const n = new Map<string, number>();
  for (const x of xs) n.set(x.state, (n.get(x.state) ?? 0) + 1);
  return [...n].map(([k, v]) => `${v} ${k}`).join(', ');
};

async function main(): Promise<void> {
  if (COUNT > 10) throw new Error('BENCH_RESTART_COUNT is at most 10 (the address range of the bench)');
  const scenario = await startRestartScenario({
    nodes: ['node1', 'node2'],
    count: COUNT,
    baseIp: '10.64.98.230',
  });
  try {
    const started = await scenario.startBatch();
    const killedAt = await scenario.killMidway();
    const atKill = await scenario.owned();
    const records = await scenario.recordsByState();
    const restartedAt = Date.now();
    await scenario.restart();
    const readyAt = Date.now();
    const result = await eventually(() => scenario.converged(started.id), 120_000, 'convergence');
    const convergedAt = Date.now();
    console.log(
      `batch of ${COUNT} over node1, node2; provisioning killed (SIGKILL) midway and started again`,
    );
    console.log(
      `at the kill: ${atKill.length} containers on the daemons (${tally(atKill)}); records: ${records.map((r) => `${r.n} ${r.state}`).join(', ')}`,
    );
    console.log(
      `first start ready after ${scenario.firstReadyMs} ms; the restart ready after ${readyAt - restartedAt} ms`,
    );
    console.log(
      `converged ${convergedAt - restartedAt} ms after the restart (${convergedAt - killedAt} ms after the kill): operation ${result.op.state}, ${result.recorded.length} running`,
    );
  } finally {
    await scenario.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:restart failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
