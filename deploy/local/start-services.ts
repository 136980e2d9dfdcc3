/**
 * `npm run start:services`: every service as its own process against the rig's Postgres and
 * Kafka (deploy/local/.env from `npm run stack:up`), migrations first, and a node agent per rig
 * node, each its production bundle (built first, as `npm run build` does) on plain node. Logs are
 * prefixed with the process's name; Ctrl-C (or SIGTERM) stops them all gracefully.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { loadEnvFile } from '@testbed/kit';
import { buildService, ensureGeneratedClient } from '../build/build';
import { nodeAgentProcesses, serviceProcesses } from './services';

const root = path.resolve(__dirname, '..', '..');

function run(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    readline
      .createInterface({ input: stream! })
      .on('line', (line) => process.stdout.write(`[${name}] ${line}\n`));
  }
  return child;
}

async function main(): Promise<void> {
  if (!loadEnvFile(path.join(root, 'deploy', 'local', '.env'))) {
    console.error('deploy/local/.env is missing: run `npm run stack:up` first');
    process.exit(2);
  }
  // The rig's nodes are known to quota before provisioning announces them.
  process.env.QUOTA_KNOWN_NODES ??= process.env.TESTBED_NODES;
  // provisioning registers the rig's nodes (TESTBED_NODES, NODEn_*, DOCKER_TLS_*) at start.
  process.env.PROVISIONING_NODES_FROM_ENV ??= 'true';
  // The rig's daemons have no registry to pull busybox from: the interface helper uses its image.
  process.env.PROVISIONING_HELPER_IMAGE ??= 'testbed/busybox';
  // Every process exports its spans to the rig's Jaeger (http://127.0.0.1:16686 shows them).
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT ??= process.env.JAEGER_OTLP_ENDPOINT;
  // Built first (the Prisma client too when missing), as `npm run build` does.
  const processes = [...serviceProcesses, ...nodeAgentProcesses(process.env)];
  ensureGeneratedClient();
  for (const service of ['migrate', ...new Set(processes.map((s) => s.service))]) await buildService(service);
  const migrate = run(
    'migrate',
    process.execPath,
    [path.join(root, 'dist', 'migrate', 'main.js')],
    process.env,
  );
  const code = await new Promise<number | null>((resolve) => migrate.on('exit', resolve));
  if (code !== 0) process.exit(code ?? 1);

  const children = processes.map((s) => {
    const args = [...(s.nodeFlags ?? []), path.join(root, s.entry)];
    const child = run(s.name, process.execPath, args, { ...process.env, PORT: String(s.port), ...s.env });
    child.on('exit', (c, signal) => console.log(`[${s.name}] exited (${signal ?? c})`));
    console.log(
      `[${s.name}] starting on http://127.0.0.1:${s.port}: node ${[...(s.nodeFlags ?? []), s.entry].join(' ')}`,
    );
    return child;
  });
  let stopping = false;
  const stopAll = () => {
    if (stopping) return;
    stopping = true;
    for (const child of children) child.kill('SIGTERM');
  };
  process.on('SIGINT', stopAll);
  process.on('SIGTERM', stopAll);
  await Promise.all(
    children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.on('exit', r)))),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
