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

describe('charts/testbed', () => {
  let defaults: Manifest[];
  let scaled: Manifest[];
  let withIngress: Manifest[];

  beforeAll(() => {
    defaults = render();
    scaled = render('services.ipam.replicas=3');
    withIngress = render('ingress.enabled=true', 'ingress.host=testbed.example.org');
  });

  test('passes helm lint --strict, with the default values and with more replicas and the ingress', () => {
    expect(helm(['lint', '--strict', chart])).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    helm(['lint', '--strict', chart, '--set', 'services.ipam.replicas=3', '--set', 'ingress.enabled=true']);
  });

  test('every rendered object is a valid Kubernetes object of its kind', () => {
    for (const objects of [defaults, scaled, withIngress]) {
      expect(objects.length).toBeGreaterThan(5);
      validateAll(objects);
    }
  });

  test('the ipam Deployment is probed on /readyz and /healthz through its http port', () => {
    const deployment = one<Deployment>(defaults, 'Deployment', `${release}-testbed-ipam`);
    const container = deployment.spec!.template.spec!.containers[0]!;
    expect(container.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.image).toBe('testbed/ipam:0.1.0');
    // What skaffold sets: the exact image it built.
    const digest = `sha256:${'ab'.repeat(32)}`;
    const built = render(
      'services.ipam.image.repository=reg.example.org/testbed/ipam',
      'services.ipam.image.tag=4f2c',
      `services.ipam.image.digest=${digest}`,
    );
    expect(one<Deployment>(built, 'Deployment').spec!.template.spec!.containers[0]!.image).toBe(
      `reg.example.org/testbed/ipam:4f2c@${digest}`,
    );
  });

  test('every container runs as a non-root user, read-only, with every capability dropped', () => {
    const pods = [
      ...find<Deployment>(defaults, 'Deployment').map((d) => d.spec!.template.spec!),
      ...find<batch.IJob>(defaults, 'Job').map((j) => j.spec!.template.spec!),
    ];
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
      for (const c of pod.containers as Container[]) {
        expect(c.securityContext).toMatchObject({
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(c.securityContext?.capabilities?.add ?? []).toEqual([]);
        // tsx writes its compile cache to /tmp: it must be a volume on a read-only root.
        expect(c.volumeMounts?.map((m) => m.mountPath)).toContain('/tmp');
      }
    }
  });

  test('configuration comes from the ConfigMaps and DATABASE_URL from a Secret, named as in the README', () => {
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'));
    const documented = new Set(
      table
        .split('\n')
        .filter((line) => line.startsWith('| `'))
        .flatMap((line) => [...line.split('|')[1]!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!)),
    );
    expect(documented.has('KAFKA_BROKERS')).toBe(true);

    const shared = one<core.IConfigMap>(defaults, 'ConfigMap', `${release}-testbed-config`);
    expect(shared.data).toMatchObject({ KAFKA_BROKERS: 'kafka:9092', SHUTDOWN_DELAY_MS: '5000' });
    // Unset optional variables are left out: an empty AUTH_JWKS_URL would fail the URL check.
    expect(shared.data).not.toHaveProperty('AUTH_JWKS_URL');
    expect(shared.data).not.toHaveProperty('OTEL_EXPORTER_OTLP_ENDPOINT');
    const withUrls = one<core.IConfigMap>(
      render(
        'config.AUTH_JWKS_URL=https://idp.example.org/jwks',
        'config.OTEL_EXPORTER_OTLP_ENDPOINT=http://otel:4318',
      ),
      'ConfigMap',
      `${release}-testbed-config`,
    );
    expect(withUrls.data).toMatchObject({
      AUTH_JWKS_URL: 'https://idp.example.org/jwks',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318',
    });

    const own = one<core.IConfigMap>(defaults, 'ConfigMap', `${release}-testbed-ipam`);
    const container = one<Deployment>(defaults, 'Deployment').spec!.template.spec!.containers[0]!;
    const explicit = (container.env ?? []).map((e) => e.name);
    for (const name of [...Object.keys(withUrls.data!), 'PORT', ...explicit])
      expect(documented).toContain(name);

    expect(container.envFrom?.map((e) => e.configMapRef?.name)).toEqual([
      `${release}-testbed-config`,
      own.metadata!.name,
    ]);
    const databaseUrl = container.env?.find((e) => e.name === 'DATABASE_URL');
    expect(databaseUrl?.valueFrom?.secretKeyRef).toEqual({
      name: `${release}-testbed-database`,
      key: 'DATABASE_URL',
    });
    expect(one<core.ISecret>(defaults, 'Secret', `${release}-testbed-database`).stringData).toHaveProperty(
      'DATABASE_URL',
    );

    // An operator's own Secret replaces the chart's.
    const external = render('database.existingSecret=testbed-db', 'database.existingSecretKey=url');
    expect(find(external, 'Secret')).toEqual([]);
    const externalRef = one<Deployment>(external, 'Deployment').spec!.template.spec!.containers[0]!.env?.[0]
      ?.valueFrom;
    expect(externalRef?.secretKeyRef).toEqual({ name: 'testbed-db', key: 'url' });
  });

  test('the shutdown delay fits in the termination grace period', () => {
    const pod = one<Deployment>(defaults, 'Deployment').spec!.template.spec!;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(5);
    const r = run(helmBin, ['template', release, chart, '--set', 'config.SHUTDOWN_DELAY_MS=30000'], 60_000);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(
      /SHUTDOWN_DELAY_MS \(30000 ms\) must be below terminationGracePeriodSeconds \(30 s\)/,
    );
  });

  test('the migrations Job is a pre-install/pre-upgrade hook running prisma/migrate.ts', () => {
    expect(fs.existsSync(path.join(repoRoot, 'prisma', 'migrate.ts'))).toBe(true);
    const job = one<batch.IJob>(defaults, 'Job', `${release}-testbed-migrations`);
    const hooks = job.metadata!.annotations!['helm.sh/hook']!.split(',');
    expect(hooks.sort()).toEqual(['pre-install', 'pre-upgrade']);
    const container = job.spec!.template.spec!.containers[0]!;
    expect(container.command).toEqual(['node_modules/.bin/tsx', 'prisma/migrate.ts']);
    expect(job.spec!.template.spec!.restartPolicy).toBe('Never');

    // Pre-install hooks run before the release's own Secret exists: the Job reads a hook Secret
    // created just before it (lower weight).
    const secretName = container.env!.find((e) => e.name === 'DATABASE_URL')!.valueFrom!.secretKeyRef!.name!;
    const secret = one<core.ISecret>(defaults, 'Secret', secretName);
    expect(secret.metadata!.annotations!['helm.sh/hook']).toBe(job.metadata!.annotations!['helm.sh/hook']);
    expect(Number(secret.metadata!.annotations!['helm.sh/hook-weight'])).toBeLessThan(
      Number(job.metadata!.annotations!['helm.sh/hook-weight']),
    );
    expect(find(render('migrations.enabled=false'), 'Job')).toEqual([]);
  });

  test('the pods’ ServiceAccount may get, create and update Leases, and nothing else', () => {
    const role = one<rbac.IRole>(defaults, 'Role');
    expect(role.rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
    ]);
    const binding = one<rbac.IRoleBinding>(defaults, 'RoleBinding');
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: role.metadata!.name,
    });
    const account = one<core.IServiceAccount>(defaults, 'ServiceAccount');
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: account.metadata!.name, namespace: 'testbed' },
    ]);
    expect(one<Deployment>(defaults, 'Deployment').spec!.template.spec!.serviceAccountName).toBe(
      account.metadata!.name,
    );
  });

  test('a PodDisruptionBudget exists only for a service with more than one replica', () => {
    expect(find(defaults, 'PodDisruptionBudget')).toEqual([]);
    const deployment = one<Deployment>(scaled, 'Deployment');
    expect(deployment.spec!.replicas).toBe(3);
    const pdb = one<policy.IPodDisruptionBudget>(scaled, 'PodDisruptionBudget', `${release}-testbed-ipam`);
    expect(pdb.spec!.maxUnavailable).toBe(1);
    expect(pdb.spec!.selector!.matchLabels).toEqual(deployment.spec!.selector.matchLabels);
    expect(deployment.spec!.template.metadata!.labels).toMatchObject(pdb.spec!.selector!.matchLabels!);
  });

  test('the Ingress routes /v1/pools to the ipam Service, and only while enabled', () => {
    expect(find(defaults, 'Ingress')).toEqual([]);
    const ingress = one<networking.IIngress>(withIngress, 'Ingress');
    const rule = ingress.spec!.rules![0]!;
    expect(rule.host).toBe('testbed.example.org');
    const pools = rule.http!.paths.find((p) => p.path === '/v1/pools');
    expect(pools).toMatchObject({
      pathType: 'Prefix',
      backend: { service: { name: `${release}-testbed-ipam`, port: { name: 'http' } } },
    });
    // Routes of services that are not deployed (yet) are left out.
    expect(rule.http!.paths.map((p) => p.path)).toEqual(['/v1/pools']);

    const service = one<core.IService>(withIngress, 'Service', `${release}-testbed-ipam`);
    expect(service.spec!.ports).toEqual([{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
    const deployment = one<Deployment>(withIngress, 'Deployment');
    expect(deployment.spec!.template.metadata!.labels).toMatchObject(service.spec!.selector!);
  });

  test('a new service needs only its values entry', () => {
    const objects = render(
      'services.quota.enabled=true',
      'services.quota.image.repository=testbed/quota',
      'services.quota.env.QUOTA_ENFORCE_RESERVATIONS=true',
      'ingress.enabled=true',
    );
    validateAll(objects);
    const deployment = one<Deployment>(objects, 'Deployment', `${release}-testbed-quota`);
    expect(deployment.spec!.template.spec!.containers[0]!.image).toBe('testbed/quota:0.1.0');
    expect(one<core.IConfigMap>(objects, 'ConfigMap', `${release}-testbed-quota`).data).toEqual({
      PORT: '8080',
      QUOTA_ENFORCE_RESERVATIONS: 'true',
    });
    one(objects, 'Service', `${release}-testbed-quota`);
    const paths = one<networking.IIngress>(objects, 'Ingress').spec!.rules![0]!.http!.paths;
    expect(
      paths.filter((p) => p.backend.service?.name === `${release}-testbed-quota`).map((p) => p.path),
    ).toEqual(['/v1/users', '/v1/reservations']);
  });

  test('values.schema.json refuses a misspelt key and a variable the chart sets itself', () => {
    const typo = run(helmBin, ['template', release, chart, '--set', 'services.ipam.replica=3'], 60_000);
    expect(typo.status).not.toBe(0);
    expect(typo.stderr).toMatch(/additional properties 'replica' not allowed/);
    const port = run(helmBin, ['template', release, chart, '--set', 'services.ipam.env.PORT=9000'], 60_000);
    expect(port.status).not.toBe(0);
    expect(port.stderr).toMatch(/invalid propertyName 'PORT'/);
  });
});
