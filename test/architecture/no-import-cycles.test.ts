/**
 * No service imports itself back: dependency-cruiser over every service's sources (and what they
 * import of each other), type-only imports included, fails this test on any cycle, naming it.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..');

jest.setTimeout(120_000);

interface Violation {
  from: string;
  rule: { name: string };
  cycle?: (string | { name: string })[];
}

test('no import cycle in any service', () => {
  // dependency-cruiser is ESM only: its command line, with the JSON report.
  const out = execFileSync(
    path.join(repoRoot, 'node_modules', '.bin', 'depcruise'),
    ['services/*/src', '--config', 'test/architecture/dependency-rules.cjs', '--output-type', 'json'],
    { cwd: repoRoot, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  const report = JSON.parse(out) as { summary: { totalCruised: number; violations: Violation[] } };
  const cycles = report.summary.violations
    .filter((v) => v.rule.name === 'no-circular')
    .map((v) => [v.from, ...(v.cycle ?? []).map((c) => (typeof c === 'string' ? c : c.name))].join(' → '));
  expect(report.summary.totalCruised).toBeGreaterThan(100);
  expect(cycles).toEqual([]);
});
