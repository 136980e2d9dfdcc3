import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  SERVICE_NODE_FLAGS,
  SERVICE_PROCESS_ENV,
  SERVICES_WITH_PROCESS_SETTINGS,
} from '@testbed/kit/src/host/process-settings';
import { repoRoot } from './rig';

/**
 * A service running as its own process: its production bundle (dist/<name>/main.js) on plain node,
 * as the images and `npm run start:services` run it, or services/<name>/src/main.ts through tsx.
 */
export interface ServiceProcess {
  url: string;
  pid: number;
  /** Signals the process group (tsx runs the service in a child of its own). */
  signal(signal: NodeJS.Signals): void;
  exited: Promise<void>;
  /** SIGTERM, then SIGKILL when it has not ended after `ms`. */
  stop(ms?: number): Promise<void>;
  logTail(lines?: number): string;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts a service's standalone process with `env` (on top of this process's) on a free loopback
 * port, and waits until /readyz answers 200 (bounded).
 */
export interface ServiceProcessOptions {
  readyWithinMs?: number;
  /** The variable the service reads its port from (the node agent: NODE_AGENT_PORT). */
  portVariable?: string;
  /**
   * `compiled` (the default): the production build (`npm run build`, dist/<service>/main.js) on
   * plain node, rebuilt first when a source is newer; `tsx`: the TypeScript entry through tsx.
   */
  runner?: 'tsx' | 'compiled';
  /** node's own flags, for the compiled runner (the agent's V8 settings). */
  nodeFlags?: readonly string[];
}

/** The newest modification time of the TypeScript sources a bundle may include. */
function newestSource(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'test' && entry.name !== 'dist') walk(full);
      } else if (/\.(ts|json)$/.test(entry.name)) newest = Math.max(newest, fs.statSync(full).mtimeMs);
    }
  };
  walk(path.join(repoRoot, 'services'));
  return newest;
}

const built = new Set<string>();

/** Rebuilds dist/<service> when it is missing or older than a source (once per test process). */
export async function ensureBuilt(service: string): Promise<void> {
  if (built.has(service)) return;
  const bundle = path.join(repoRoot, 'dist', service, 'main.js');
  if (!fs.existsSync(bundle) || fs.statSync(bundle).mtimeMs < newestSource()) {
    // Built aside and moved in file by file (a rename replaces atomically): another test process
    // may be starting the same bundle meanwhile.
    const { buildService } = await import('../../deploy/build/build');
    const aside = fs.mkdtempSync(path.join(repoRoot, 'dist', `.build-${service}-`));
    try {
      await buildService(service, { outRoot: aside });
      fs.mkdirSync(path.dirname(bundle), { recursive: true });
      for (const file of fs.readdirSync(path.join(aside, service)))
        fs.renameSync(path.join(aside, service, file), path.join(path.dirname(bundle), file));
    } finally {
      fs.rmSync(aside, { recursive: true, force: true });
    }
  }
  built.add(service);
}

export async function startServiceProcess(
  service: string,
  env: Record<string, string>,
  logFile: string,
  opts: ServiceProcessOptions = {},
): Promise<ServiceProcess> {
  const runner = opts.runner ?? 'compiled';
  // A service runs compiled as in its image: with its V8 flags and malloc setting.
  const settings = runner === 'compiled' && SERVICES_WITH_PROCESS_SETTINGS.includes(service);
  const {
    readyWithinMs = 90_000,
    portVariable = 'PORT',
    nodeFlags = settings ? SERVICE_NODE_FLAGS : [],
  } = opts;
  if (runner === 'compiled') await ensureBuilt(service);
  const port = await freePort();
  const [command, args] =
    runner === 'tsx'
      ? [
          path.join(repoRoot, 'node_modules', '.bin', 'tsx'),
          [path.join(repoRoot, 'services', service, 'src', 'main.ts')],
        ]
      : [process.execPath, [...nodeFlags, path.join(repoRoot, 'dist', service, 'main.js')]];
  const entry = args.at(-1)!;
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const log = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(command, args, {
    cwd: repoRoot,
    env: {
      ...process.env,
      ...(settings ? SERVICE_PROCESS_ENV : {}),
      ...env,
      [portVariable]: String(port),
      LISTEN_HOST: '127.0.0.1',
    },
    stdio: ['ignore', log, log],
    // Its own process group, so a signal reaches tsx's child running the service too.
    detached: true,
  });
  fs.closeSync(log);
  const pid = child.pid!;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let done = false;
  void exited.then(() => (done = true));
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s);
    } catch {
      // the group is gone already
    }
  };
  const url = `http://127.0.0.1:${port}`;
  const logTail = (lines = 40) => fs.readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
  try {
    const deadline = Date.now() + readyWithinMs;
    for (;;) {
      if (done) throw new Error(`the process exited:\n${logTail()}`);
      const ready = await fetch(`${url}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`${service} on ${url} not ready within ${readyWithinMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    signal('SIGKILL');
    throw err;
  }
  return {
    url,
    pid,
    signal,
    exited,
    logTail,
    async stop(ms = 15_000) {
      if (done) return;
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), ms);
      await exited;
      clearTimeout(timer);
      // tsx's child may outlive tsx itself by a moment; make sure the group is gone.
      signal('SIGKILL');
    },
  };
}
