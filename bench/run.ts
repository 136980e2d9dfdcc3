/**
 * `npm run bench`: every benchmark against the rig (`npm run stack:up` first), one after another,
 * each bounded in count and time and stopped by the harness past its time limit; their figures
 * go to bench/results.json and bench/results.md (figure, baseline in the same run, ratio, target,
 * holds or not). Each benchmark also runs alone (its npm script or `npx tsx <file>`).
 *
 *   npm run bench                    all of them (about 25 minutes)
 *   npm run bench -- ipam list       only these
 *   npm run bench -- --with-test-run also the whole test command from a fresh clone (about 15
 *                                    minutes; it brings the rig down at its end, so it runs last)
 *
 * Without --with-test-run the test command's figures are those of its last run on this machine
 * (deploy/local/test-all.sh records them), with the time of that run.
 */
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { figure, markdownTable, type Figure } from './lib/figures';
import { lastTestRunFigures, runTestCommandFromFreshClone } from './lib/test-run';
import { cpuShare, waitForQuietMachine } from './lib/quiet';

const root = path.resolve(__dirname, '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');

interface Benchmark {
  name: string;
  script: string;
  /** The harness stops it past this (it is bounded itself; this is the backstop). */
  limitMinutes: number;
  env?: Record<string, string>;
}

const BENCHMARKS: Benchmark[] = [
  { name: 'ipam', script: 'services/ipam/bench/allocations.ts', limitMinutes: 5 },
  { name: 'provision', script: 'services/provisioning/bench/provision.ts', limitMinutes: 8 },
  { name: 'provision-nodes', script: 'services/provisioning/bench/provision-nodes.ts', limitMinutes: 8 },
  { name: 'list', script: 'services/provisioning/bench/list.ts', limitMinutes: 5 },
  { name: 'startup', script: 'bench/startup-memory.ts', limitMinutes: 6 },
  { name: 'embedded', script: 'services/embedded/bench/startup.ts', limitMinutes: 4 },
  { name: 'stats', script: 'services/stats/bench/stats.ts', limitMinutes: 12 },
  { name: 'bus', script: 'services/kit/bench/bus-burst.ts', limitMinutes: 3 },
];

function runOne(
  b: Benchmark,
  figuresFile: string,
): Promise<{ code: number | null; timedOut: boolean; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(tsx, [path.join(root, b.script)], {
      cwd: root,
      env: { ...process.env, ...b.env, BENCH_FIGURES_OUT: figuresFile },
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, b.limitMinutes * 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut, seconds: (Date.now() - started) / 1000 });
    });
  });
}

function commitOf(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const withTestRun = argv.includes('--with-test-run');
  const unknownFlags = argv.filter((a) => a.startsWith('-') && a !== '--with-test-run');
  if (unknownFlags.length > 0) throw new Error(`unknown option ${unknownFlags.join(' ')}`);
  const asked = argv.filter((a) => !a.startsWith('-'));
  const unknown = asked.filter((a) => a !== 'test-run' && !BENCHMARKS.some((b) => b.name === a));
  if (unknown.length > 0)
    throw new Error(
      `unknown benchmark ${unknown.join(', ')} (${BENCHMARKS.map((b) => b.name).join(', ')}, test-run)`,
    );
  const chosen = asked.length > 0 ? BENCHMARKS.filter((b) => asked.includes(b.name)) : BENCHMARKS;

  const figures: Figure[] = [];
  const runs: Run[] = [];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  for (const b of chosen) {
    process.stdout.write(`\n== ${b.name}: ${b.script} (at most ${b.limitMinutes} min)\n`);
    const settled = await waitForQuietMachine();
    process.stdout.write(
      `machine ${settled.quiet ? 'quiet' : 'still busy'} after ${settled.waitedSeconds.toFixed(0)} s ` +
        `(${(settled.busy * 100).toFixed(0)} % of the CPU busy in the last second)\n`,
    );
    const file = path.join(work, `${b.name}.jsonl`);
    const share = cpuShare();
    const r = await runOne(b, file);
    const cpu = share.stop();
    const got = fs.existsSync(file)
      ? fs
          .readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => ({ ...(JSON.parse(l) as Figure), benchmark: b.name }))
      : [];
    const status = r.timedOut
      ? `stopped after ${b.limitMinutes} min`
      : r.code === 0
        ? 'ok'
        : `exit ${r.code}`;
    runs.push({
      name: b.name,
      seconds: r.seconds,
      status,
      ...(cpu && { busyPercent: round1(cpu.busy * 100), stealPercent: round1(cpu.steal * 100) }),
    });
    if (cpu)
      process.stdout.write(
        `${b.name}: ${r.seconds.toFixed(0)} s, the machine ${(cpu.busy * 100).toFixed(0)} % busy, ` +
          `${(cpu.steal * 100).toFixed(1)} % of its CPU taken by the hypervisor (steal)\n`,
      );
    figures.push(...got);
    if (status !== 'ok' || got.length === 0)
      figures.push(
        figure({
          id: `${b.name}.run`,
          figure: `${b.name} benchmark ran to its end`,
          value: status === 'ok' ? 1 : 0,
          unit: '',
          target: 'ran, with figures',
          check: { atLeast: 1 },
          note: `${status}, ${got.length} figures`,
          benchmark: b.name,
        }),
      );
  }
  if (asked.length === 0 || asked.includes('test-run') || withTestRun) {
    process.stdout.write('\n== test-run: the whole test command from a fresh clone\n');
    const testRun = withTestRun ? await runTestCommandFromFreshClone(root) : lastTestRunFigures();
    figures.push(...testRun.map((f) => ({ ...f, benchmark: 'test-run' })));
  }
  fs.rmSync(work, { recursive: true, force: true });

  // A part run alone replaces its own rows of the last full run's results and keeps the others.
  const outDir = path.join(root, 'bench');
  const previous = path.join(outDir, 'results.json');
  if (asked.length > 0 && fs.existsSync(previous)) {
    const ran = new Set([
      ...chosen.map((b) => b.name),
      ...(figures.some((f) => f.id.startsWith('test-run.')) ? ['test-run'] : []),
    ]);
    const last = JSON.parse(fs.readFileSync(previous, 'utf8')) as {
      ranAt?: string;
      commit?: string;
      runs?: Run[];
      figures: Figure[];
    };
    runs.unshift(...(last.runs ?? []).filter((r) => !ran.has(r.name)));
    const kept = last.figures
      .filter((f) => f.benchmark === undefined || !ran.has(f.benchmark))
      .map((f) => ({ ...f, ranAt: f.ranAt ?? last.ranAt, commit: f.commit ?? last.commit }));
    figures.unshift(...kept);
  }

  const ranAt = new Date().toISOString();
  const commit = commitOf();
  for (const f of figures) {
    f.ranAt ??= ranAt;
    f.commit ??= commit;
  }
  const results = {
    ranAt,
    commit,
    machine: {
      cpus: os.cpus().length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
    runs,
    figures,
  };
  fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  const missed = figures.filter((f) => f.holds === false);
  const md = [
    `# Benchmark results`,
    '',
    `\`npm run bench\` at ${results.ranAt} on commit ${results.commit} (${results.machine.cpus} cores, ` +
      `${results.machine.memoryGiB} GiB, Node ${results.machine.node}); every ratio is against a baseline ` +
      `measured in the same run.`,
    '',
    ...provenance(figures),
    markdownTable(figures),
    '',
    `Benchmarks (each one's wall time, and the share of the machine's CPU the hypervisor took meanwhile): ${runs
      .map(
        (r) =>
          `${r.name} ${r.seconds.toFixed(0)} s (${r.status}${r.stealPercent === undefined ? '' : `, ${r.stealPercent} % steal`})`,
      )
      .join(', ')}.`,
    '',
    missed.length === 0
      ? 'Every target holds.'
      : `Targets missed: ${missed.map((f) => f.figure).join('; ')}.`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(outDir, 'results.md'), md);
  process.stdout.write(`\n${md}\nwritten: bench/results.json, bench/results.md\n`);
}

/** One benchmark's run: its wall time, how it ended, and the machine's CPU meanwhile (Linux). */
interface Run {
  name: string;
  seconds: number;
  status: string;
  busyPercent?: number;
  stealPercent?: number;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** Which rows come from which run, when a partial run kept rows of earlier ones. */
function provenance(figures: readonly Figure[]): string[] {
  const runsOf = new Map<string, Set<string>>();
  for (const f of figures) {
    const key = `${f.ranAt ?? 'an unrecorded time'} on ${f.commit ?? 'an unrecorded commit'}`;
    runsOf.set(key, (runsOf.get(key) ?? new Set()).add(f.benchmark ?? f.id.split('.')[0]!));
  }
  if (runsOf.size < 2) return [];
  return ['Rows by run:', ...[...runsOf].map(([run, names]) => `- ${[...names].join(', ')}: ${run}`), ''];
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
