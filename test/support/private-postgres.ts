/**
 * A Postgres cluster of one test's own (Debian's postgresql, as deploy/local/lib/postgres.sh runs
 * the rig's): initdb into a temporary folder as the postgres OS user, listening on a free
 * loopback port only, its unix socket in that folder. A test can crash it (`pg_ctl stop -m
 * immediate`: no checkpoint, recovery at the next start) and start it again on the same data
 * without touching the rig's shared Postgres. Every wait is bounded.
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './service-process';

export interface PrivatePostgres {
  /** `postgresql://postgres@127.0.0.1:<port>/<database>`. */
  url: string;
  port: number;
  running(): boolean;
  /** `pg_ctl stop -m immediate`: every backend killed at once, as when the server crashes. */
  crash(): Promise<void>;
  /** Starts it again on the same data; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it and deletes its folder. */
  destroy(): Promise<void>;
  logTail(bytes?: number): string;
}

function pgBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const dir = path.join(root, v, 'bin');
    if (fs.existsSync(path.join(dir, 'pg_ctl'))) return dir;
  }
  throw new Error(
    'no pg_ctl under /usr/lib/postgresql: run `npm run stack:up` first (it installs postgresql)',
  );
}

export async function startPrivatePostgres(
  opts: { database?: string; startTimeoutSeconds?: number } = {},
): Promise<PrivatePostgres> {
  const bin = pgBin();
  const database = opts.database ?? 'faults';
  const timeout = opts.startTimeoutSeconds ?? 60;
  const dir = fs.mkdtempSync('/tmp/ppg-');
  const data = path.join(dir, 'data');
  const run = path.join(dir, 'run');
  const logFile = path.join(dir, 'postgres.log');
  fs.mkdirSync(run);
  fs.writeFileSync(logFile, '');
  spawnSync('chown', ['-R', 'postgres:postgres', dir], { timeout: 10_000 });
  fs.chmodSync(dir, 0o755);
  /** A command as the postgres OS user, bounded; the event loop runs meanwhile (the platform under test too). */
  const asPostgres = (args: string[], timeoutMs = 120_000) =>
    new Promise<string>((resolve, reject) => {
      execFile(
        'runuser',
        ['-u', 'postgres', '--', ...args],
        { cwd: '/', encoding: 'utf8', timeout: timeoutMs },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`${path.basename(args[0]!)} failed: ${err.message}\n${stderr}${stdout}`));
          else resolve(stdout);
        },
      );
    });
  const port = await freePort();
  let up = false;
  const start = async () => {
    await asPostgres(
      [path.join(bin, 'pg_ctl'), '-D', data, '-l', logFile, '-w', '-t', String(timeout), 'start'],
      (timeout + 10) * 1000,
    );
    up = true;
  };
  try {
    await asPostgres([
      path.join(bin, 'initdb'),
      '-D',
      data,
      '-U',
      'postgres',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
      '--auth-local=trust',
      '--auth-host=trust',
    ]);
    fs.appendFileSync(
      path.join(data, 'postgresql.conf'),
      [
        '',
        "listen_addresses = '127.0.0.1'",
        `port = ${port}`,
        `unix_socket_directories = '${run}'`,
        'max_connections = 200',
        'shared_buffers = 64MB',
        'fsync = on',
        'logging_collector = off',
        'log_min_messages = warning',
        '',
      ].join('\n'),
    );
    await start();
    const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${database}"`);
    } finally {
      await admin.end();
    }
  } catch (err) {
    if (up)
      spawnSync(
        'runuser',
        ['-u', 'postgres', '--', path.join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'],
        {
          timeout: 40_000,
        },
      );
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const stop = async (mode: 'immediate' | 'fast') => {
    if (!up) return;
    await asPostgres([path.join(bin, 'pg_ctl'), '-D', data, '-m', mode, '-w', '-t', '30', 'stop'], 40_000);
    up = false;
  };
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/${database}`,
    port,
    running: () => up,
    crash: () => stop('immediate'),
    start,
    async destroy() {
      await stop('fast').catch(() => stop('immediate'));
      fs.rmSync(dir, { recursive: true, force: true });
    },
    logTail: (bytes = 4000) => {
      try {
        return fs.readFileSync(logFile, 'utf8').slice(-bytes);
      } catch {
        return '(no log)';
      }
    },
  };
}
