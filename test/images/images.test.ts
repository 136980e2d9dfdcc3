/**
 * Every service image, built and run for real on the rig's own Docker daemon: node1, which holds
 * the Node base the rig makes itself (testbed/node:20, deploy/local/lib/images.sh: a minbase
 * bookworm and this machine's Node 20 binary). Nothing is pulled and no npm runs inside docker
 * (no registry is reachable from a build): this clone's bundles, each with exactly the npm
 * packages it loads (`npm run build -- --node-modules`, written to a folder outside the clone so
 * dist/ stays as `npm run build` left it), the portal's built pages and prisma/migrations go into
 * one FROM-scratch image laid out as services/kit/Dockerfile's `output` target; each
 * services/<name>/Dockerfile and the workspace Dockerfile's `migrate` target are then built with
 * BUILD=that image and NODE_IMAGE=testbed/node:20, as skaffold builds them from testbed/build on
 * the official image.
 *
 * The migrations image migrates a fresh database on the rig's Postgres; then every service image
 * runs as a container with --network host (the rig's Postgres and Kafka are on loopback; the
 * daemon's containers get no other network), each on its own free loopback port, against that
 * database and a Kafka namespace of this file's own, until GET /readyz answers 200. Provisioning
 * has no node registered (a fresh database, none from the environment) and a platform label of
 * its own, so it touches no daemon; the embedded image runs on PGlite in its /data with the local
 * node and agent off; the node agent runs as its DaemonSet does (host PID, the node's socket,
 * cgroups and /proc read-only). Each container's process runs as uid 10001; no image holds a
 * TypeScript compiler or runner or the repository's .ts sources. Sizes are printed. Containers
 * are removed afterwards; the images stay, tagged testbed/<name>:test.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildService, otherEntries, servicesWithEntry } from '../../deploy/build/build';
import { freshPostgresDatabase, randomSuffix, repoRoot, rigEnv } from '@testbed/test-support/rig';
import { freePort } from '@testbed/test-support/service-process';

jest.setTimeout(300_000);

const env = rigEnv('DATABASE_URL', 'KAFKA_BROKERS', 'NODE1_DOCKER_SOCKET', 'NODE1_CGROUP_PARENT');
const socket = env.NODE1_DOCKER_SOCKET!;
const NODE_IMAGE = 'testbed/node:20';
const BUILD_IMAGE = 'testbed/build:test';
const MIGRATE_IMAGE = 'testbed/migrate:test';
/** Every services/<name>/src/main.ts: each has a Dockerfile of its own. */
const SERVICES = ['embedded', 'ipam', 'node-agent', 'portal', 'provisioning', 'quota', 'stats'];
const imageOf = (service: string) => `testbed/${service}:test`;
const READY_WITHIN_MS = 60_000;

const suffix = randomSuffix();
const namespace = `images-${suffix}`;
const platform = `images-${suffix}`;
const label = `testbed.test=images-${suffix}`;
/**
 * The build context of the output image: one folder per clone, kept between runs, so that the
 * daemon's copy of it is only updated (packages keep their times) and the COPY is reused.
 */
const contextDir = path.join(
  os.tmpdir(),
  `testbed-images-${createHash('sha256').update(repoRoot).digest('hex').slice(0, 12)}`,
);
const dockerCli = fs.existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The docker CLI on node1's socket, BuildKit on, bounded in time. */
function docker(args: string[], timeoutMs = 120_000): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DOCKER_HOST: `unix://${socket}`,
    DOCKER_BUILDKIT: '1',
  };
  for (const k of ['DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_CONTEXT']) delete childEnv[k];
  return new Promise((resolve) => {
    execFile(
      dockerCli,
      args,
      { env: childEnv, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr: err && code === -1 ? `${stderr}${err.message}` : stderr });
      },
    );
  });
}

async function dockerOk(args: string[], timeoutMs?: number): Promise<string> {
  const r = await docker(args, timeoutMs);
  if (r.code !== 0)
    throw new Error(
      `docker ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-4000)}${r.stdout.slice(-2000)}`,
    );
  return r.stdout;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The output image's folder: services/kit/Dockerfile's `output` layout, from this clone's build. */
async function writeBuildContext(): Promise<void> {
  const app = path.join(contextDir, 'app');
  fs.rmSync(app, { recursive: true, force: true });
  for (const name of [...servicesWithEntry(), ...Object.keys(otherEntries)])
    await buildService(name, { nodeModules: true, outRoot: path.join(app, 'dist') });
  const pages = path.join(repoRoot, 'services', 'portal', 'dist');
  if (!fs.existsSync(path.join(pages, 'index.html')))
    throw new Error(`${pages} has no index.html: run \`npm run build:portal\``);
  for (const rel of [path.join('services', 'portal', 'dist'), path.join('prisma', 'migrations')])
    fs.cpSync(path.join(repoRoot, rel), path.join(app, rel), { recursive: true, preserveTimestamps: true });
  fs.writeFileSync(path.join(contextDir, 'Dockerfile'), 'FROM scratch\nCOPY app/ /app/\n');
  // Each bundle's packages are copies of the same files: one inode each (util-linux's hardlink
  // compares contents) makes the context and the output layer a fraction of the size.
  if (fs.existsSync('/usr/bin/hardlink'))
    await new Promise<void>((resolve, reject) =>
      execFile('/usr/bin/hardlink', ['-q', app], { timeout: 120_000 }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
}

/** The portal's pages, built when missing or older than their sources (as `npm start` does). */
function ensurePortalPages(): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(
      path.join(repoRoot, 'node_modules', '.bin', 'tsx'),
      [path.join(repoRoot, 'services', 'portal', 'scripts', 'build.ts'), '--if-stale'],
      { cwd: repoRoot, timeout: 180_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`building the portal failed:\n${stdout}${stderr}`)) : resolve(),
    ),
  );
}

interface Started {
  service: string;
  container: string;
  url: string;
  startedAt: number;
  readyMs?: number;
}

const containers: string[] = [];
const started: Started[] = [];
const timings: Record<string, string> = {};
let database: { url: string; drop(): Promise<void> } | undefined;
let socketGid = 0;

/**
 * As the chart runs a pod's container: every capability dropped, no privilege gain, the root
 * filesystem read-only with /tmp and /data (DATA_DIR) writable scratch folders.
 */
const CHART_LIKE = [
  '--cap-drop',
  'ALL',
  '--security-opt',
  'no-new-privileges',
  '--read-only',
  '--tmpfs',
  '/tmp',
  '--tmpfs',
  '/data:uid=10001,gid=10001',
];

/** `docker run -d` on the host's network, labelled as this file's, with the service's variables. */
async function runContainer(
  service: string,
  variables: Record<string, string>,
  extra: string[] = CHART_LIKE,
): Promise<string> {
  const args = ['run', '-d', '--name', `images-${service}-${suffix}`, '--label', label, '--network', 'host'];
  for (const [k, v] of Object.entries(variables)) args.push('-e', `${k}=${v}`);
  const id = (await dockerOk([...args, ...extra, imageOf(service)])).trim();
  containers.push(id);
  return id;
}

/** Each service's variables and docker options on its own loopback port. */
async function startService(service: string): Promise<Started> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const standalone = {
    PORT: String(port),
    LISTEN_HOST: '127.0.0.1',
    DATABASE_URL: database!.url,
    KAFKA_BROKERS: env.KAFKA_BROKERS!,
    KAFKA_NAMESPACE: namespace,
  };
  let id: string;
  const startedAt = Date.now();
  switch (service) {
    case 'ipam':
    case 'quota':
    case 'stats':
      id = await runContainer(service, standalone);
      break;
    case 'provisioning':
      id = await runContainer(service, { ...standalone, PROVISIONING_PLATFORM_ID: platform });
      break;
    case 'portal':
      id = await runContainer(service, { PORT: String(port), LISTEN_HOST: '127.0.0.1' });
      break;
    case 'embedded':
      // PGlite in the image's /data volume, the in-process bus; no local daemon, no local agent.
      id = await runContainer(
        service,
        {
          PORT: String(port),
          LISTEN_HOST: '127.0.0.1',
          PROVISIONING_LOCAL_NODE: 'false',
          STATS_LOCAL_AGENT: 'false',
          PROVISIONING_PLATFORM_ID: platform,
        },
        ['--cap-drop', 'ALL', '--security-opt', 'no-new-privileges'],
      );
      break;
    case 'node-agent':
      // As the chart's DaemonSet runs it: host PID, the node's socket (its group added), its
      // cgroups and /proc read-only.
      id = await runContainer(
        service,
        {
          NODE_AGENT_PORT: String(port),
          NODE_AGENT_LISTEN_HOST: '127.0.0.1',
          NODE_AGENT_NODE: `images-${suffix}`,
          KAFKA_BROKERS: env.KAFKA_BROKERS!,
          KAFKA_NAMESPACE: namespace,
          DOCKER_HOST: 'unix:///var/run/docker.sock',
          NODE_AGENT_CGROUP_ROOT: '/host/sys/fs/cgroup',
          NODE_AGENT_PROC_ROOT: '/host/proc',
          NODE_AGENT_CGROUP_PARENT: env.NODE1_CGROUP_PARENT!,
        },
        [
          ...CHART_LIKE,
          '--pid',
          'host',
          '--group-add',
          String(socketGid),
          '-v',
          `${socket}:/var/run/docker.sock:ro`,
          '-v',
          '/sys/fs/cgroup:/host/sys/fs/cgroup:ro',
          '-v',
          '/proc:/host/proc:ro',
        ],
      );
      break;
    default:
      throw new Error(`no way to run ${service} here: add it to startService`);
  }
  return { service, container: id, url, startedAt };
}

async function logsOf(container: string): Promise<string> {
  const r = await docker(['logs', '--tail', '40', container], 20_000);
  return `${r.stdout}${r.stderr}`;
}

/** GET /readyz until 200, bounded; the container's exit or the deadline fail with its log. */
async function waitReady(s: Started): Promise<void> {
  const deadline = s.startedAt + READY_WITHIN_MS;
  for (;;) {
    const status = await fetch(`${s.url}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) {
      s.readyMs = Date.now() - s.startedAt;
      return;
    }
    const state = (await dockerOk(['inspect', '--format', '{{.State.Status}}', s.container], 20_000)).trim();
    if (state !== 'running')
      throw new Error(`${s.service}'s container is ${state}:\n${await logsOf(s.container)}`);
    if (Date.now() > deadline)
      throw new Error(
        `${s.service} on ${s.url}: /readyz not 200 within ${READY_WITHIN_MS} ms (last ${status}):\n${await logsOf(s.container)}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  const base = await docker(['image', 'inspect', '--format', '{{.Id}}', NODE_IMAGE], 20_000);
  if (base.code !== 0)
    throw new Error(
      `${NODE_IMAGE} is not on node1: run \`npm run stack:up\` (deploy/local/lib/images.sh makes it)`,
    );
  socketGid = fs.statSync(socket).gid;

  let t0 = Date.now();
  await ensurePortalPages();
  await writeBuildContext();
  timings['bundles with their npm packages'] = seconds(Date.now() - t0);

  t0 = Date.now();
  await dockerOk(['build', '-q', '--network', 'none', '-t', BUILD_IMAGE, contextDir], 300_000);
  timings[`output image (${BUILD_IMAGE})`] = seconds(Date.now() - t0);

  const common = ['build', '-q', '--network', 'none', '--build-arg', `BUILD=${BUILD_IMAGE}`];
  common.push('--build-arg', `NODE_IMAGE=${NODE_IMAGE}`);
  t0 = Date.now();
  await dockerOk(
    [...common, '-f', path.join(repoRoot, 'services', 'kit', 'Dockerfile'), '--target', 'migrate'].concat([
      '-t',
      MIGRATE_IMAGE,
      repoRoot,
    ]),
    300_000,
  );
  // Two builds at a time: the daemon's disk, not the 2 cores, is what they wait for.
  const queue = [...SERVICES];
  await Promise.all(
    [0, 1].map(async () => {
      for (let s = queue.shift(); s; s = queue.shift()) {
        const dockerfile = path.join(repoRoot, 'services', s, 'Dockerfile');
        await dockerOk([...common, '-f', dockerfile, '-t', imageOf(s), repoRoot], 300_000);
      }
    }),
  );
  timings['service and migrations images'] = seconds(Date.now() - t0);

  database = await freshPostgresDatabase('images');
}, 600_000);

afterAll(async () => {
  if (containers.length > 0) await docker(['rm', '-f', '-v', ...containers], 60_000);
  await database?.drop();
  console.log(
    `image build: ${Object.entries(timings)
      .map(([k, v]) => `${k} ${v}`)
      .join('; ')}`,
  );
});

describe('service images built and run on the rig’s own Docker daemon (node1)', () => {
  test('every service with a src/main.ts has an image here', () => {
    expect(servicesWithEntry()).toEqual(SERVICES);
  });

  test('the migrations image migrates a fresh database on the rig’s Postgres, and applies nothing the second time', async () => {
    const run = (name: string) =>
      dockerOk(
        ['run', '--name', `images-migrate-${name}-${suffix}`, '--label', label, '--network', 'host']
          // The chart's Job: read-only, /tmp its only scratch folder.
          .concat([
            '--cap-drop',
            'ALL',
            '--security-opt',
            'no-new-privileges',
            '--read-only',
            '--tmpfs',
            '/tmp',
          ])
          .concat(['-e', `DATABASE_URL=${database!.url}`, MIGRATE_IMAGE]),
        120_000,
      ).finally(() => containers.push(`images-migrate-${name}-${suffix}`));
    const migrations = fs
      .readdirSync(path.join(repoRoot, 'prisma', 'migrations'), { withFileTypes: true })
      .filter((d) => d.isDirectory());
    expect(await run('first')).toContain(`applied ${migrations.length} migration(s)`);
    expect(await run('again')).toContain('up to date, nothing applied');
  });

  test('every service image answers /readyz 200 as a container against the rig’s Postgres and Kafka', async () => {
    started.push(...(await Promise.all(SERVICES.map(startService))));
    await Promise.all(started.map(waitReady));
    console.log(
      `ready after container start: ${started.map((s) => `${s.service} ${seconds(s.readyMs!)}`).join(', ')}`,
    );
    // The code cache each service image made of its bundle is taken by its own node (loader.cjs
    // says on stderr when it is not).
    for (const s of started) {
      const log = await logsOf(s.container);
      expect([s.service, log]).not.toEqual([
        s.service,
        expect.stringMatching(/bundle\.cache .*compiling the bundle/),
      ]);
    }
    for (const name of ['ipam', 'provisioning', 'quota', 'stats']) {
      const listing = await dockerOk(['run', '--rm', '--entrypoint', 'ls', imageOf(name), `dist/${name}`]);
      expect([name, listing.split(/\s+/).filter(Boolean).sort()]).toEqual([
        name,
        ['bundle.cache', 'bundle.js', 'bundle.js.map', 'main.js', 'node_modules', 'query-compiler.wasm.b64'],
      ]);
    }
  });

  test('each runs as the numeric non-root user 10001', async () => {
    expect(started).toHaveLength(SERVICES.length);
    for (const s of started) {
      const user = (
        await dockerOk(['image', 'inspect', '--format', '{{.Config.User}}', imageOf(s.service)])
      ).trim();
      expect([s.service, user]).toEqual([s.service, '10001:10001']);
      const pid = Number((await dockerOk(['inspect', '--format', '{{.State.Pid}}', s.container])).trim());
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const uids = /^Uid:\s+(.*)$/m.exec(status)![1]!.split(/\s+/);
      expect([s.service, uids]).toEqual([s.service, ['10001', '10001', '10001', '10001']]);
    }
  });

  /**
   * Run inside the image with its own node: package folders of TypeScript compilers and runners
   * anywhere Node's code sits, .ts sources outside node_modules (packages' own .ts files and
   * declarations are inert), and tsc/tsx on PATH.
   */
  const FIND_TYPESCRIPT = `
  const fs = require('node:fs'), path = require('node:path');
  const tools = new Set(['typescript', 'tsx', 'ts-node', 'esbuild', '@esbuild', '@swc', 'swc']);
  const found = [];
  const walk = (dir, inModules) => {
    let entries;
    try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (path.basename(dir) === 'node_modules' && tools.has(e.name)) found.push(p);
        walk(p, inModules || e.name === 'node_modules');
      } else if (!inModules && /\\.(ts|tsx|mts|cts)$/.test(e.name) && !/\\.d\\.[mc]?ts$/.test(e.name)) found.push(p);
    }
  };
  for (const root of ['/app', '/usr/local', '/usr/lib/node_modules', '/opt', '/root', '/home']) walk(root, false);
  for (const dir of (process.env.PATH || '').split(':'))
    for (const bin of ['tsc', 'tsx', 'ts-node', 'esbuild']) if (fs.existsSync(path.join(dir, bin))) found.push(path.join(dir, bin));
  process.stdout.write(JSON.stringify(found));
  `;

  test('no image holds TypeScript: no compiler or runner, none of the repository’s .ts sources', async () => {
    for (const image of [...SERVICES.map(imageOf), MIGRATE_IMAGE]) {
      const out = await dockerOk(
        ['run', '--rm', '--network', 'none', '--entrypoint', 'node', image, '-e', FIND_TYPESCRIPT],
        60_000,
      );
      expect([image, JSON.parse(out)]).toEqual([image, []]);
    }
  });

  test('the image sizes (for the README)', async () => {
    const rows: string[] = [];
    for (const image of [NODE_IMAGE, ...SERVICES.map(imageOf), MIGRATE_IMAGE]) {
      const bytes = Number((await dockerOk(['image', 'inspect', '--format', '{{.Size}}', image])).trim());
      expect(bytes).toBeGreaterThan(0);
      rows.push(`${image.padEnd(26)} ${(bytes / 1e6).toFixed(0).padStart(5)} MB`);
    }
    console.log(`image sizes on node1 (${NODE_IMAGE} is the base of each):\n${rows.join('\n')}`);
  });
});
