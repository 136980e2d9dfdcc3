/**
 * The Helm chart, checked offline: helm (built from source by deploy/helm/install-helm.sh, cached
 * after the first run) lints and renders charts/testbed; every rendered object is validated
 * against the Kubernetes API schemas with kubernetes-models; then the properties a cluster would
 * otherwise reveal too late are asserted. No cluster runs here, so nothing is installed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import * as core from 'kubernetes-models/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as batch from 'kubernetes-models/batch/v1';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as rbac from 'kubernetes-models/rbac.authorization.k8s.io/v1';

const repoRoot = path.resolve(__dirname, '..', '..');
const chart = path.join(repoRoot, 'charts', 'testbed');
const release = 'tb';
/** The services the chart deploys by default, each services/<name>/src/main.ts in its own image. */
const services = ['ipam', 'provisioning', 'quota'] as const;
const objectName = (service: string): string => `${release}-testbed-${service}`;

/** Each kind the chart may render, by apiVersion and kind. A new kind must be added here. */
const models: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': core.ConfigMap,
  'v1/Secret': core.Secret,
  'v1/Service': core.Service,
  'v1/ServiceAccount': core.ServiceAccount,
  'apps/v1/Deployment': apps.Deployment,
  'batch/v1/Job': batch.Job,
  'networking.k8s.io/v1/Ingress': networking.Ingress,
  'policy/v1/PodDisruptionBudget': policy.PodDisruptionBudget,
  'rbac.authorization.k8s.io/v1/Role': rbac.Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': rbac.RoleBinding,
};

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

let helmBin = '';

function run(
  cmd: string,
  args: string[],
  timeoutMs: number,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function helm(args: string[]): string {
  const r = run(helmBin, args, 60_000);
  if (r.status !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** `helm template` with --set values, parsed into objects (empty documents dropped). */
function render(...sets: string[]): Manifest[] {
  const out = helm([
    'template',
    release,
    chart,
    '--namespace',
    'testbed',
    ...sets.flatMap((s) => ['--set', s]),
  ]);
  return parseAllDocuments(out)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]!.message}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

function find<T = Manifest>(objects: Manifest[], kind: string, name?: string): T[] {
  return objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name)) as T[];
}

function one<T = Manifest>(objects: Manifest[], kind: string, name?: string): T {
  const found = find<T>(objects, kind, name);
  if (found.length !== 1)
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

/** The run: `helm template` whose failure is the expected outcome. */
function refused(...sets: string[]): string {
  const r = run(helmBin, ['template', release, chart, ...sets.flatMap((s) => ['--set', s])], 60_000);
  expect(r.status).not.toBe(0);
  return r.stderr;
}

function validateAll(objects: Manifest[]): void {
  for (const o of objects) {
    const Model = models[`${o.apiVersion}/${o.kind}`];
    if (!Model)
      throw new Error(`no kubernetes-models class for ${o.apiVersion} ${o.kind} (${o.metadata.name})`);
    try {
      new Model(o as never).validate();
    } catch (err) {
      throw new Error(
        `${o.kind} ${o.metadata.name} is not a valid ${o.apiVersion} object: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
}

type Deployment = apps.IDeployment;
type Volume = core.IVolume;
type Container = NonNullable<Deployment['spec']>['template']['spec'] extends infer S
  ? S extends { containers: (infer C)[] }
    ? C
    : never
  : never;

beforeAll(() => {
  const r = run('bash', [path.join(repoRoot, 'deploy', 'helm', 'install-helm.sh')], 15 * 60_000);
  if (r.status !== 0)
    throw new Error(`deploy/helm/install-helm.sh exited ${r.status}:\n${r.stderr.slice(-4000)}`);
  helmBin = r.stdout.trim().split('\n').pop()!;
  expect(fs.existsSync(helmBin)).toBe(true);
}, 15 * 60_000);

