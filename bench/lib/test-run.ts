/**
 * The whole test command as a benchmark: its wall time and its ten slowest test files, from the
 * record deploy/local/test-all.sh leaves of its last run on this machine, or from a run the
 * harness makes now in a fresh clone (`.ci/run`, exactly what CI runs).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { figure, type Figure } from './figures';

/** What test-all.sh writes at its end (see there). */
export interface TestRunRecord {
  finishedAt: string;
  commit: string;
  wallSeconds: number;
  files: number;
  passed: number;
  failed: number;
  slowest: { file: string; seconds: number }[];
}

export const TEST_RUN_RECORD = path.join(
  process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'),
  'testbed',
  'last-test-run.json',
);

export function lastTestRunFigures(file = TEST_RUN_RECORD): Figure[] {
  if (!fs.existsSync(file))
    return [
      figure({
        id: 'test-run.wall',
        figure: 'the whole test command from a fresh clone',
        value: NaN,
        unit: 'min',
        note: `no run recorded on this machine (${file}); run \`npm run bench -- --with-test-run\``,
      }),
    ];
  const r = JSON.parse(fs.readFileSync(file, 'utf8')) as TestRunRecord;
  const when = `run ${r.finishedAt} on ${r.commit}: ${r.files} files, ${r.passed} passed, ${r.failed} failed`;
  // Stamped with the run it reports, not with the harness run that read the record.
  const stamp = { ranAt: r.finishedAt, commit: r.commit };
  const rows = [
    figure({
      id: 'test-run.wall',
      figure: 'the whole test command from a fresh clone (`.ci/run`), wall time',
      value: r.wallSeconds / 60,
      unit: 'min',
      target: '≤ 90 min, 0 failed',
      check: { atMost: r.failed === 0 ? 90 : -1 },
      note: when,
    }),
    ...r.slowest.slice(0, 10).map((s, i) =>
      figure({
        id: `test-run.slowest-${i + 1}`,
        figure: `slowest test file ${i + 1}: ${s.file}`,
        value: s.seconds,
        unit: 's',
      }),
    ),
  ];
  return rows.map((f) => ({ ...f, ...stamp }));
}

/** Clones the repository's HEAD and runs `.ci/run` in it (bounded to 85 minutes). */
export async function runTestCommandFromFreshClone(root: string): Promise<Figure[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-fresh-'));
  // mkdtemp makes it 0700; the rig's Postgres runs as its own user inside the clone's .state.
  fs.chmodSync(dir, 0o755);
  try {
    const clone = spawnSync('git', ['clone', '-q', root, dir], { stdio: 'inherit' });
    if (clone.status !== 0) throw new Error('git clone failed');
    const before = fs.existsSync(TEST_RUN_RECORD) ? fs.statSync(TEST_RUN_RECORD).mtimeMs : 0;
    const run = spawnSync('bash', ['.ci/run'], { cwd: dir, stdio: 'inherit', timeout: 85 * 60_000 });
    const after = fs.existsSync(TEST_RUN_RECORD) ? fs.statSync(TEST_RUN_RECORD).mtimeMs : 0;
    if (after <= before)
      return [
        figure({
          id: 'test-run.wall',
          figure: 'the whole test command from a fresh clone (`.ci/run`), wall time',
          value: NaN,
          unit: 'min',
          target: '≤ 90 min, 0 failed',
          check: { atMost: -1 },
          note: `it ended (status ${run.status ?? run.signal}) without recording a run`,
        }),
      ];
    return lastTestRunFigures();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
