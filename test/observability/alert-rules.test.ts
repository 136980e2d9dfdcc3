/**
 * The alert rules, their unit tests and the dashboard of deploy/observability: promtool accepts
 * the rules and their tests pass, every runbook link leads to a section of RUNBOOK.md, and every
 * metric the rules and the dashboard name is one the platform exposes (the embedded default's
 * /metrics, scraped from a child process, and the node agent's own registry), which promtool
 * lints too. Needs promtool (Debian's prometheus package, which `npm run stack:up` installs), not
 * the rig.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { createAgentMetrics } from '@testbed/node-agent';
import { repoRoot } from '@testbed/test-support/rig';
import { startServiceProcess, type ServiceProcess } from '@testbed/test-support/service-process';

jest.setTimeout(120_000);

const dir = path.join(repoRoot, 'deploy', 'observability');
const alertsFile = path.join(dir, 'alerts.yml');
const alertTestsFile = path.join(dir, 'alerts.test.yml');
const dashboardFile = path.join(dir, 'dashboard.json');
const runbookFile = path.join(dir, 'RUNBOOK.md');

interface PromtoolRun {
  code: number;
  output: string;
}

function promtool(args: string[], input?: string): PromtoolRun {
  try {
    const stdout = execFileSync('promtool', args, {
      cwd: repoRoot,
      input,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    return { code: 0, output: stdout };
  } catch (err) {
    const e = err as { code?: string; status?: number | null; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error(
        'promtool is not installed: `apt-get install prometheus` (`npm run stack:up` does it)',
        {
          cause: err,
        },
      );
    }
    return { code: e.status ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

function expectSuccess(run: PromtoolRun, what: string): void {
  if (run.code !== 0) throw new Error(`${what} exited ${run.code}:\n${run.output}`);
}

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const alertRules = (): AlertRule[] =>
  (YAML.parse(fs.readFileSync(alertsFile, 'utf8')) as { groups: { rules: AlertRule[] }[] }).groups.flatMap(
    (g) => g.rules,
  );

// ---- metric names in PromQL, crudely ---------------------------------------------------------

/** Words of PromQL that look like metric names: operators, modifiers and functions. */
const PROMQL_WORDS = new Set([
  ...['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool'],
  ...['offset', 'inf', 'nan', 'le', 'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk'],
  ...['bottomk', 'quantile', 'count_values', 'group', 'rate', 'irate', 'increase', 'delta', 'idelta'],
  ...['deriv', 'predict_linear', 'histogram_quantile', 'absent', 'absent_over_time', 'vector', 'scalar'],
  ...['time', 'timestamp', 'changes', 'resets', 'clamp_min', 'clamp_max', 'label_replace', 'label_join'],
  ...['avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time'],
  ...['last_over_time', 'quantile_over_time', 'round', 'abs', 'ceil', 'floor', 'sort', 'sort_desc'],
  ...['label_values'],
]);

/**
 * The metric names an expression selects: identifiers outside label matchers, ranges, label lists
 * and strings that are not followed by `(` and are not PromQL's own words.
 */
function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    if (!PROMQL_WORDS.has(m[1]!)) names.add(m[1]!);
  }
  return [...names];
}

interface DashboardPanel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: DashboardPanel[];
}

interface Dashboard {
  schemaVersion: number;
  panels: DashboardPanel[];
  templating: { list: { name: string; type: string; query?: string | { query?: string } }[] };
}

/** Every expression of the dashboard, with where it is (rows may nest panels). */
function dashboardExpressions(d: Dashboard): { where: string; expr: string }[] {
  const panels = (ps: DashboardPanel[]): DashboardPanel[] =>
    ps.flatMap((p) => [p, ...panels(p.panels ?? [])]);
  const fromPanels = panels(d.panels).flatMap((p) =>
    (p.targets ?? []).flatMap((t) => (t.expr ? [{ where: `dashboard "${p.title}"`, expr: t.expr }] : [])),
  );
  const fromVariables = d.templating.list.flatMap((v) => {
    if (v.type !== 'query') return [];
    const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
    // label_values(metric, label): the label is no metric.
    const expr = /label_values\(\s*([^,]+),/.exec(q)?.[1] ?? q;
    return [{ where: `dashboard variable ${v.name}`, expr }];
  });
  return [...fromPanels, ...fromVariables];
}

/** Metric families of an exposition text, name → type, from its `# TYPE` lines. */
function families(exposition: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** Series Prometheus writes itself for every scrape target, not found on any /metrics. */
const SCRAPE_SERIES = new Set(['up']);

function exposed(name: string, known: Map<string, string>): boolean {
  if (known.has(name) || SCRAPE_SERIES.has(name)) return true;
  const m = /^(.+)_(bucket|sum|count)$/.exec(name);
  if (!m) return false;
  const type = known.get(m[1]!);
  return type === 'histogram' || (type === 'summary' && m[2] !== 'bucket');
}

// ---- the platform's /metrics -------------------------------------------------------------------

let embedded: ServiceProcess | undefined;
let embeddedMetrics = '';
let agentMetrics = '';
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'observability-'));

beforeAll(async () => {
  // The embedded default as `npm start` runs it: PGlite and the in-process bus, not the rig's.
  delete process.env.DATABASE_URL;
  delete process.env.KAFKA_BROKERS;
  embedded = await startServiceProcess(
    'embedded',
    { DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    path.join(dataDir, 'embedded.log'),
  );
  embeddedMetrics = await (await fetch(`${embedded.url}/metrics`)).text();
  // The standalone node agent serves this registry on its own port.
  agentMetrics = await createAgentMetrics().registry.metrics();
});

afterAll(async () => {
  await embedded?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('promtool accepts the alert rules and their unit tests pass', () => {
  const check = promtool(['check', 'rules', alertsFile]);
  expectSuccess(check, 'promtool check rules');
  expect(check.output).toMatch(/SUCCESS: \d+ rules found/);
  const unit = promtool(['test', 'rules', alertTestsFile]);
  expectSuccess(unit, 'promtool test rules');
  expect(unit.output).toContain('SUCCESS');
});

test('every alert waits a while, has a severity, a summary, a description and a runbook section', () => {
  const anchors = new Set(
    [...fs.readFileSync(runbookFile, 'utf8').matchAll(/^#{2,3} (.+)$/gm)].map((m) =>
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\w\- ]/g, '')
        .replace(/ /g, '-'),
    ),
  );
  const rules = alertRules();
  expect(rules.length).toBeGreaterThanOrEqual(10);
  const problems = rules.flatMap((r) => {
    const found: string[] = [];
    if (!r.for) found.push('no for:');
    if (!['critical', 'warning'].includes(r.labels?.severity ?? '')) found.push('no severity');
    if (!r.annotations?.summary || !r.annotations.description) found.push('no summary or description');
    const anchor = /^deploy\/observability\/RUNBOOK\.md#(.+)$/.exec(r.annotations?.runbook_url ?? '')?.[1];
    if (!anchor || !anchors.has(anchor))
      found.push(`runbook_url ${r.annotations?.runbook_url} has no section`);
    return found.map((f) => `${r.alert}: ${f}`);
  });
  expect(problems).toEqual([]);
});

test('every expression of the dashboard is valid PromQL (promtool parses it as a recording rule)', () => {
  const dashboard = JSON.parse(fs.readFileSync(dashboardFile, 'utf8')) as Dashboard;
  // Grafana's variables, as Grafana would put them in.
  const grafana = (expr: string) => expr.replaceAll('$__rate_interval', '5m').replaceAll('$job', '.*');
  const rules = dashboardExpressions(dashboard).map((e, i) => ({
    record: `dashboard:expr_${i}`,
    expr: grafana(e.expr),
  }));
  expect(rules.length).toBeGreaterThanOrEqual(30);
  const file = path.join(dataDir, 'dashboard-expressions.yml');
  fs.writeFileSync(file, YAML.stringify({ groups: [{ name: 'dashboard', rules }] }));
  expectSuccess(promtool(['check', 'rules', file]), 'promtool check rules (the dashboard expressions)');
});

test('the alert rules and the dashboard name only metrics the platform exposes', () => {
  const known = new Map([...families(embeddedMetrics), ...families(agentMetrics)]);
  // The scrape really reached the services' registries, not an empty page.
  for (const name of ['http_request_duration_seconds', 'bus_outbox_backlog', 'provisioning_node_up'])
    expect(known.has(name)).toBe(true);
  const dashboard = JSON.parse(fs.readFileSync(dashboardFile, 'utf8')) as Dashboard;
  expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
  const uses = [
    ...alertRules().map((r) => ({ where: `alerts.yml ${r.alert}`, expr: r.expr })),
    ...dashboardExpressions(dashboard),
  ].flatMap(({ where, expr }) => metricNamesIn(expr).map((name) => ({ name, where })));
  expect(new Set(uses.map((u) => u.name)).size).toBeGreaterThanOrEqual(20);
  expect(uses.filter((u) => !exposed(u.name, known))).toEqual([]);
});

test('promtool finds no errors in the exposed metrics, and no lint problem in the platform’s own', () => {
  for (const [what, text] of [
    ['embedded /metrics', embeddedMetrics],
    ['node agent /metrics', agentMetrics],
  ] as const) {
    const run = promtool(['check', 'metrics'], text);
    // 0: clean, 3: lint problems only (listed one per line: "<metric> <problem>"), else an error.
    if (run.code !== 0 && run.code !== 3)
      throw new Error(`promtool check metrics (${what}) exited ${run.code}:\n${run.output}`);
    const problems = run.output.split('\n').filter((l) => l.trim() !== '');
    // prom-client's default collectors (nodejs_*, process_*) name a few gauges `_total`; not ours.
    const ours = problems.filter((l) => !/^(nodejs|process)_/.test(l));
    if (problems.length > 0) console.info(`promtool check metrics, ${what}:\n${problems.join('\n')}`);
    expect(ours).toEqual([]);
  }
});
