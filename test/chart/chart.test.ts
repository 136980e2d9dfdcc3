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
import { SERVICE_NODE_FLAGS, SERVICE_PROCESS_ENV } from '@testbed/kit/src/host/process-settings';

const repoRoot = path.resolve(__dirname, '..', '..');
const chart = path.join(repoRoot, 'charts', 'testbed');
const release = 'tb';
/** The services the chart deploys by default, each services/<name>/src/main.ts in its own image. */
const services = ['ipam', 'provisioning', 'quota', 'stats'] as const;
/** Every Deployment of the defaults: the API services and the portal (the web UI, no /v1 routes). */
const deployed = [...services, 'portal'].sort();
const objectName = (service: string): string => `${release}-testbed-${service}`;

/** Each kind the chart may render, by apiVersion and kind. A new kind must be added here. */
const models: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': core.ConfigMap,
  'v1/Secret': core.Secret,
  'v1/Service': core.Service,
  'v1/ServiceAccount': core.ServiceAccount,
  'apps/v1/Deployment': apps.Deployment,
  'apps/v1/DaemonSet': apps.DaemonSet,
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

/** The `/v1/…` paths a service serves: the `path:` of the route specs in its src/http/. */
function servedPaths(service: string): string[] {
  const dir = path.join(repoRoot, 'services', service, 'src', 'http');
  const paths = new Set<string>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts')))
    for (const m of fs.readFileSync(path.join(dir, file), 'utf8').matchAll(/\bpath: '(\/v1\/[^']*)'/g))
      paths.add(m[1]!);
  return [...paths].sort();
}

/**
 * The Service an Ingress sends a request path to, as ingress-nginx with `use-regex` does: Prefix
 * paths by whole elements, ImplementationSpecific paths as regular expressions anchored at the
 * start, the longest path first.
 */
function backendOf(paths: networking.IHTTPIngressPath[], requestPath: string): string | undefined {
  const matches = paths.filter((p) =>
    p.pathType === 'Exact'
      ? requestPath === p.path
      : p.pathType === 'ImplementationSpecific'
        ? new RegExp(`^${p.path!}(/|$)`).test(requestPath)
        : requestPath === p.path || requestPath.startsWith(p.path!.endsWith('/') ? p.path! : `${p.path}/`),
  );
  matches.sort((a, b) => b.path!.length - a.path!.length);
  return matches[0]?.backend.service?.name;
}

const tlsDir = '/var/run/secrets/testbed-docker';

describe('charts/testbed', () => {
  let defaults: Manifest[];
  let scaled: Manifest[];
  let withIngress: Manifest[];
  let withTls: Manifest[];

  beforeAll(() => {
    defaults = render();
    scaled = render('services.ipam.replicas=3');
    withIngress = render('ingress.enabled=true', 'ingress.host=testbed.example.org');
    withTls = render('services.provisioning.tlsSecrets.names={node1-docker,node2-docker}');
  });

  test('passes helm lint --strict, with the default values and with more replicas, the ingress and TLS Secrets', () => {
    expect(helm(['lint', '--strict', chart])).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    helm([
      'lint',
      '--strict',
      chart,
      '--set',
      'services.ipam.replicas=3',
      '--set',
      'ingress.enabled=true',
      '--set',
      'services.provisioning.tlsSecrets.names={node1-docker}',
    ]);
  });

  test('the defaults deploy every service: a Deployment, a Service and a ConfigMap each', () => {
    validateAll(defaults);
    const names = (kind: string) => find(defaults, kind).map((o) => o.metadata.name);
    const expected = deployed.map(objectName);
    expect(names('Deployment')).toEqual(expected);
    expect(names('Service')).toEqual(expected);
    expect(names('ConfigMap').sort()).toEqual([`${release}-testbed-config`, ...expected].sort());
    // Each Service selects its own service's pods and no other's.
    for (const name of deployed) {
      const selector = one<core.IService>(defaults, 'Service', objectName(name)).spec!.selector!;
      const selected = find<Deployment>(defaults, 'Deployment').filter((d) =>
        Object.entries(selector).every(([k, v]) => d.spec!.template.metadata!.labels![k] === v),
      );
      expect(selected.map((d) => d.metadata!.name)).toEqual([objectName(name)]);
    }
  });

  test('every rendered object is a valid Kubernetes object of its kind', () => {
    for (const objects of [defaults, scaled, withIngress, withTls]) {
      expect(objects.length).toBeGreaterThan(5);
      validateAll(objects);
    }
  });

  test('each service’s Deployment is probed on /readyz and /healthz through its http port and runs its own image', () => {
    for (const name of services) {
      const deployment = one<Deployment>(defaults, 'Deployment', objectName(name));
      const container = deployment.spec!.template.spec!.containers[0]!;
      expect(container.name).toBe(name);
      expect(container.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
      expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(container.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(container.image).toBe(`testbed/${name}:0.1.0`);
    }
    // What skaffold sets: the exact image it built, for that service alone.
    const digest = `sha256:${'ab'.repeat(32)}`;
    const built = render(
      'services.ipam.image.repository=reg.example.org/testbed/ipam',
      'services.ipam.image.tag=4f2c',
      `services.ipam.image.digest=${digest}`,
    );
    const imageOf = (name: string) =>
      one<Deployment>(built, 'Deployment', objectName(name)).spec!.template.spec!.containers[0]!.image;
    expect(imageOf('ipam')).toBe(`reg.example.org/testbed/ipam:4f2c@${digest}`);
    expect(imageOf('quota')).toBe('testbed/quota:0.1.0');
  });

  test('every container runs as a non-root user, read-only, with every capability dropped', () => {
    const pods = [
      ...find<Deployment>(defaults, 'Deployment').map((d) => d.spec!.template.spec!),
      ...find<batch.IJob>(defaults, 'Job').map((j) => j.spec!.template.spec!),
    ];
    expect(pods).toHaveLength(deployed.length + 1);
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
    // A service's README names its own variables in the first column of a table, with or without backticks.
    const ownTable = (service: string): Set<string> => {
      const file = path.join(repoRoot, 'services', service, 'README.md');
      const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      return new Set(
        text
          .split('\n')
          .filter((line) => line.startsWith('|'))
          .flatMap((line) => [...line.split('|')[1]!.matchAll(/\b([A-Z][A-Z0-9_]*)\b/g)].map((m) => m[1]!)),
      );
    };
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

    for (const name of services) {
      const own = one<core.IConfigMap>(defaults, 'ConfigMap', objectName(name));
      const container = one<Deployment>(defaults, 'Deployment', objectName(name)).spec!.template.spec!
        .containers[0]!;
      const explicit = (container.env ?? []).map((e) => e.name);
      for (const variable of [...Object.keys(withUrls.data!), 'PORT', ...explicit])
        expect(documented).toContain(variable);
      // A service's own variables: in the root README's table or in its own README's.
      const ownDocs = ownTable(name);
      for (const variable of Object.keys(own.data!))
        expect(documented.has(variable) || ownDocs.has(variable)).toBe(true);

      expect(container.envFrom?.map((e) => e.configMapRef?.name)).toEqual([
        `${release}-testbed-config`,
        own.metadata!.name,
      ]);
      const databaseUrl = container.env?.find((e) => e.name === 'DATABASE_URL');
      expect(databaseUrl?.valueFrom?.secretKeyRef).toEqual({
        name: `${release}-testbed-database`,
        key: 'DATABASE_URL',
      });
    }
    expect(one<core.ISecret>(defaults, 'Secret', `${release}-testbed-database`).stringData).toHaveProperty(
      'DATABASE_URL',
    );

    // An operator's own Secret replaces the chart's, for every service.
    const external = render('database.existingSecret=testbed-db', 'database.existingSecretKey=url');
    expect(find(external, 'Secret')).toEqual([]);
    const deployments = find<Deployment>(external, 'Deployment');
    expect(deployments).toHaveLength(deployed.length);
    for (const deployment of deployments) {
      const externalRef = deployment.spec!.template.spec!.containers[0]!.env?.find(
        (e) => e.name === 'DATABASE_URL',
      )?.valueFrom;
      expect(externalRef?.secretKeyRef).toEqual({ name: 'testbed-db', key: 'url' });
    }
  });

  test('the shutdown delay fits in the termination grace period', () => {
    for (const deployment of find<Deployment>(defaults, 'Deployment'))
      expect(deployment.spec!.template.spec!.terminationGracePeriodSeconds).toBeGreaterThan(5);
    expect(refused('config.SHUTDOWN_DELAY_MS=30000')).toMatch(
      /SHUTDOWN_DELAY_MS \(30000 ms\) must be below terminationGracePeriodSeconds \(30 s\)/,
    );
  });

  test('the migrations Job is a pre-install/pre-upgrade hook running prisma/migrate.ts compiled, in its own image', async () => {
    expect(fs.existsSync(path.join(repoRoot, 'prisma', 'migrate.ts'))).toBe(true);
    const job = one<batch.IJob>(defaults, 'Job', `${release}-testbed-migrations`);
    const hooks = job.metadata!.annotations!['helm.sh/hook']!.split(',');
    expect(hooks.sort()).toEqual(['pre-install', 'pre-upgrade']);
    const container = job.spec!.template.spec!.containers[0]!;
    expect(container.image).toBe('testbed/migrate:0.1.0');
    expect(container.command).toEqual(['node', 'dist/migrate/main.js']);
    // dist/migrate is `npm run build`'s bundle of prisma/migrate.ts; the image (the workspace
    // Dockerfile's `migrate` target) holds it and the migrations it reads, found upwards from it.
    const { otherEntries } = await import('../../deploy/build/build');
    expect(otherEntries.migrate).toBe('prisma/migrate.ts');
    const workspace = fs.readFileSync(path.join(repoRoot, 'services', 'kit', 'Dockerfile'), 'utf8');
    const migrateStage = workspace.slice(workspace.indexOf(' AS migrate\n'));
    expect(migrateStage).toMatch(/COPY --from=built \/app\/dist\/migrate\/ dist\/migrate\//);
    expect(migrateStage).toMatch(/COPY --from=built \/app\/prisma\/migrations\/ prisma\/migrations\//);
    expect(migrateStage).toMatch(/USER 10001:10001/);
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
    for (const deployment of find<Deployment>(defaults, 'Deployment'))
      expect(deployment.spec!.template.spec!.serviceAccountName).toBe(account.metadata!.name);
  });

  test('a PodDisruptionBudget exists only for a service with more than one replica', () => {
    expect(find(defaults, 'PodDisruptionBudget')).toEqual([]);
    const deployment = one<Deployment>(scaled, 'Deployment', objectName('ipam'));
    expect(deployment.spec!.replicas).toBe(3);
    const pdb = one<policy.IPodDisruptionBudget>(scaled, 'PodDisruptionBudget');
    expect(pdb.metadata!.name).toBe(objectName('ipam'));
    expect(pdb.spec!.maxUnavailable).toBe(1);
    expect(pdb.spec!.selector!.matchLabels).toEqual(deployment.spec!.selector.matchLabels);
    expect(deployment.spec!.template.metadata!.labels).toMatchObject(pdb.spec!.selector!.matchLabels!);
    for (const name of ['provisioning', 'quota'])
      expect(one<Deployment>(scaled, 'Deployment', objectName(name)).spec!.replicas).toBe(1);
  });

  test('the Ingress routes each API path to the service that owns it, and only while enabled', () => {
    expect(find(defaults, 'Ingress')).toEqual([]);
    const ingress = one<networking.IIngress>(withIngress, 'Ingress');
    const rule = ingress.spec!.rules![0]!;
    expect(rule.host).toBe('testbed.example.org');
    const paths = rule.http!.paths;
    // Routes of services that are not deployed are left out.
    expect(paths.map((p) => [p.path, p.pathType, p.backend.service?.name])).toEqual(
      expect.arrayContaining([
        ['/v1/pools', 'Prefix', objectName('ipam')],
        ['/v1/nodes', 'Prefix', objectName('provisioning')],
        ['/v1/containers', 'Prefix', objectName('provisioning')],
        ['/v1/batches', 'Prefix', objectName('provisioning')],
        ['/v1/networks', 'Prefix', objectName('provisioning')],
        ['/v1/operations', 'Prefix', objectName('provisioning')],
        ['/v1/users', 'Prefix', objectName('quota')],
        ['/v1/reservations', 'Prefix', objectName('quota')],
        ['/v1/stats', 'Prefix', objectName('stats')],
        ['/v1/containers/[^/]+/stats', 'ImplementationSpecific', objectName('stats')],
        ['/v1/nodes/[^/]+/stats', 'ImplementationSpecific', objectName('stats')],
        ['/v1/nodes/[^/]+/availability', 'ImplementationSpecific', objectName('quota')],
      ]),
    );
    expect(ingress.metadata!.annotations).toMatchObject({ 'nginx.ingress.kubernetes.io/use-regex': 'true' });
    for (const p of paths) expect(p.backend.service?.port).toEqual({ name: 'http' });

    // Every path a service serves reaches it, those nested under another's prefix included.
    for (const name of services) {
      const served = servedPaths(name);
      expect(served.length).toBeGreaterThan(0);
      for (const served1 of served) {
        expect([served1, backendOf(paths, served1.replace(/:[a-z]+/gi, 'x'))]).toEqual([
          served1,
          objectName(name),
        ]);
      }
    }

    for (const name of services) {
      const service = one<core.IService>(withIngress, 'Service', objectName(name));
      expect(service.spec!.ports).toEqual([
        { name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' },
      ]);
      const deployment = one<Deployment>(withIngress, 'Deployment', objectName(name));
      expect(deployment.spec!.template.metadata!.labels).toMatchObject(service.spec!.selector!);
    }

    // A disabled service loses its routes along with its Deployment.
    const withoutQuota = render('ingress.enabled=true', 'services.quota.enabled=false');
    expect(find(withoutQuota, 'Deployment', objectName('quota'))).toEqual([]);
    const left = one<networking.IIngress>(withoutQuota, 'Ingress').spec!.rules![0]!.http!.paths;
    expect(left.map((p) => p.path)).not.toContain('/v1/users');
    expect(left.map((p) => p.path)).not.toContain('/v1/reservations');
    expect(left.map((p) => p.path)).toContain('/v1/pools');
  });

  test('a new service needs only its values entry', () => {
    const objects = render(
      'services.widgets.enabled=true',
      'services.widgets.image.repository=testbed/widgets',
      'services.widgets.env.WIDGETS_RETENTION_DAYS=7',
      'ingress.enabled=true',
    );
    validateAll(objects);
    const deployment = one<Deployment>(objects, 'Deployment', objectName('widgets'));
    expect(deployment.spec!.template.spec!.containers[0]!.image).toBe('testbed/widgets:0.1.0');
    expect(one<core.IConfigMap>(objects, 'ConfigMap', objectName('widgets')).data).toEqual({
      PORT: '8080',
      WIDGETS_RETENTION_DAYS: '7',
    });
    one(objects, 'Service', objectName('widgets'));
  });

  test('stats gets its own paths, the nested history paths included', () => {
    const objects = render('ingress.enabled=true', 'services.stats.env.STATS_RAW_RETENTION_HOURS=24');
    validateAll(objects);
    expect(one<core.IConfigMap>(objects, 'ConfigMap', objectName('stats')).data).toEqual({
      PORT: '8080',
      STATS_RAW_RETENTION_HOURS: '24',
    });
    const paths = one<networking.IIngress>(objects, 'Ingress').spec!.rules![0]!.http!.paths;
    for (const p of ['/v1/stats/live', '/v1/containers/abc/stats', '/v1/nodes/node1/stats'])
      expect([p, backendOf(paths, p)]).toEqual([p, objectName('stats')]);
    expect(backendOf(paths, '/v1/containers/abc')).toBe(objectName('provisioning'));
    expect(backendOf(paths, '/v1/nodes/node1/availability')).toBe(objectName('quota'));
  });

  test('the portal: its own Deployment serving the web UI at `/` of the Ingress, signing in at the identity provider', async () => {
    const objects = render(
      'ingress.enabled=true',
      'config.AUTH_JWKS_URL=https://login.example.org/jwks',
      'config.AUTH_ISSUER=https://login.example.org',
    );
    validateAll(objects);
    const deployment = one<Deployment>(objects, 'Deployment', objectName('portal'));
    const container = deployment.spec!.template.spec!.containers[0]!;
    expect(container.image).toBe('testbed/portal:0.1.0');
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    // Its image runs the portal's server bundle on the pages the workspace Dockerfile's build stage
    // made, taken from the build's output (its `output` target, the BUILD argument).
    const dockerfile = fs.readFileSync(path.join(repoRoot, 'services', 'portal', 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('CMD ["node", "dist/portal/main.js"]');
    expect(dockerfile).toContain('COPY --from=build /app/services/portal/dist/ services/portal/dist/');
    const workspace = fs.readFileSync(path.join(repoRoot, 'services', 'kit', 'Dockerfile'), 'utf8');
    expect(workspace).toMatch(/RUN npm run build && npm run build:portal/);
    expect(workspace).toMatch(/COPY --from=build \/app\/services\/portal\/dist\/ services\/portal\/dist\//);
    expect(workspace).toMatch(
      /COPY --from=bundles \/app\/services\/portal\/dist\/ \/app\/services\/portal\/dist\//,
    );

    // Its variables, each in services/portal/README.md's table; unset ones left out.
    const own = one<core.IConfigMap>(objects, 'ConfigMap', objectName('portal')).data!;
    expect(own).toEqual({
      PORT: '8080',
      PORTAL_OIDC_CLIENT_ID: 'testbed-portal',
      PORTAL_OIDC_SCOPE: 'openid profile',
    });
    const readme = fs.readFileSync(path.join(repoRoot, 'services', 'portal', 'README.md'), 'utf8');
    for (const name of Object.keys(own).filter((n) => n !== 'PORT'))
      expect(readme).toContain(`| \`${name}\``);
    // What the pod's environment would be is a valid configuration of the portal's process, and
    // it signs people in at the issuer the services trust.
    const { standalonePortalSchema } = await import('../../services/portal/src/server/standalone');
    const { standalonePortalConfig } = await import('../../services/portal/src/server/portal-config');
    const shared = one<core.IConfigMap>(objects, 'ConfigMap', `${release}-testbed-config`).data!;
    const env = Object.fromEntries(
      (container.env ?? []).filter((e) => e.value).map((e) => [e.name, e.value!]),
    );
    const config = standalonePortalSchema.parse({ ...shared, ...own, ...env });
    expect(standalonePortalConfig(config)).toEqual({
      apiBase: '',
      signIn: {
        method: 'oidc',
        issuer: 'https://login.example.org',
        clientId: 'testbed-portal',
        scope: 'openid profile',
      },
    });

    // `/` is the portal's; every API path still reaches its service (the longest path wins).
    const paths = one<networking.IIngress>(objects, 'Ingress').spec!.rules![0]!.http!.paths;
    expect(paths.map((p) => [p.path, p.pathType, p.backend.service?.name])).toContainEqual([
      '/',
      'Prefix',
      objectName('portal'),
    ]);
    for (const p of [
      '/',
      '/monitor',
      '/containers/abc',
      '/auth/callback',
      '/portal-config.json',
      '/assets/index-1.js',
    ])
      expect([p, backendOf(paths, p)]).toEqual([p, objectName('portal')]);
    expect(backendOf(paths, '/v1/containers/abc')).toBe(objectName('provisioning'));
    expect(backendOf(paths, '/v1/stats/live')).toBe(objectName('stats'));
    const without = render('ingress.enabled=true', 'services.portal.enabled=false');
    expect(find(without, 'Deployment', objectName('portal'))).toEqual([]);
    expect(
      one<networking.IIngress>(without, 'Ingress').spec!.rules![0]!.http!.paths.map((p) => p.path),
    ).not.toContain('/');

    // Its URLs are checked by values.schema.json.
    expect(refused('services.portal.env.PORTAL_OIDC_ISSUER=login.example.org')).toMatch(/PORTAL_OIDC_ISSUER/);
    expect(refused('services.portal.env.PORTAL_OIDC_RESOURCE=testbed')).toMatch(/PORTAL_OIDC_RESOURCE/);

    // skaffold builds its image (from the build's output) and deploys exactly that one.
    const skaffold = parseAllDocuments(
      fs.readFileSync(path.join(repoRoot, 'skaffold.yaml'), 'utf8'),
    )[0]!.toJS() as {
      build: { artifacts: { image: string; docker: { dockerfile: string }; requires?: unknown[] }[] };
      deploy: { helm: { releases: { setValueTemplates: Record<string, string> }[] } };
    };
    expect(skaffold.build.artifacts.find((a) => a.image === 'testbed/portal')).toMatchObject({
      docker: { dockerfile: 'services/portal/Dockerfile' },
      requires: [{ image: 'testbed/build', alias: 'BUILD' }],
    });
    expect(skaffold.deploy.helm.releases[0]!.setValueTemplates).toMatchObject({
      'services.portal.image.repository': '{{.IMAGE_REPO_testbed_portal}}',
      'services.portal.image.tag': '{{.IMAGE_TAG_testbed_portal}}',
      'services.portal.image.digest': '{{.IMAGE_DIGEST_testbed_portal}}',
    });
  });

  test('tlsSecrets mounts each named Secret read-only where provisioning reads a node’s tls.secretRef', async () => {
    const podOf = (objects: Manifest[], name: string) =>
      one<Deployment>(objects, 'Deployment', objectName(name)).spec!.template.spec!;
    const secretVolumes = (volumes: Volume[] | undefined) => (volumes ?? []).filter((v) => v.secret);

    // By default nothing is mounted, but the process already looks where the chart would mount.
    expect(secretVolumes(podOf(defaults, 'provisioning').volumes)).toEqual([]);
    expect(one<core.IConfigMap>(defaults, 'ConfigMap', objectName('provisioning')).data).toEqual({
      PORT: '8080',
      PROVISIONING_TLS_SECRETS_DIR: tlsDir,
    });

    const pod = podOf(withTls, 'provisioning');
    const volumes = secretVolumes(pod.volumes);
    expect(volumes.map((v) => v.secret!.secretName)).toEqual(['node1-docker', 'node2-docker']);
    for (const v of volumes) {
      expect(v.secret!.items).toEqual(['ca.pem', 'cert.pem', 'key.pem'].map((k) => ({ key: k, path: k })));
      expect(v.secret!.defaultMode).toBe(0o440);
    }
    const mounts = pod.containers[0]!.volumeMounts!.filter((m) => volumes.some((v) => v.name === m.name));
    expect(mounts).toEqual([
      { name: volumes[0]!.name, mountPath: `${tlsDir}/node1-docker`, readOnly: true },
      { name: volumes[1]!.name, mountPath: `${tlsDir}/node2-docker`, readOnly: true },
    ]);

    // The files the process opens for a node registered with tls: { secretRef: 'node2-docker' }.
    const { NodeDockers } = await import('../../services/provisioning/src/docker/node-dockers');
    const dir = one<core.IConfigMap>(withTls, 'ConfigMap', objectName('provisioning')).data!
      .PROVISIONING_TLS_SECRETS_DIR!;
    const endpoint = new NodeDockers(1000, dir).endpointOf({
      name: 'node2',
      dockerHost: 'tcp://node2.example.org:2376',
      tlsCaPath: null,
      tlsCertPath: null,
      tlsKeyPath: null,
      tlsSecretRef: 'node2-docker',
      insecure: false,
    } as Parameters<InstanceType<typeof NodeDockers>['endpointOf']>[0]);
    const files = Object.values(endpoint.tls!).sort();
    const mounted = volumes[1]!
      .secret!.items!.map((i) => path.posix.join(mounts[1]!.mountPath, i.path))
      .sort();
    expect(files).toEqual(mounted);

    // The other services mount nothing; another folder moves the mounts and the variable together.
    for (const name of ['ipam', 'quota']) expect(secretVolumes(podOf(withTls, name).volumes)).toEqual([]);
    const moved = render(
      'services.provisioning.tlsSecrets.names={node1-docker}',
      'services.provisioning.tlsSecrets.dir=/etc/docker-tls/',
    );
    expect(one<core.IConfigMap>(moved, 'ConfigMap', objectName('provisioning')).data).toMatchObject({
      PROVISIONING_TLS_SECRETS_DIR: '/etc/docker-tls/',
    });
    expect(podOf(moved, 'provisioning').containers[0]!.volumeMounts!.map((m) => m.mountPath)).toContain(
      '/etc/docker-tls/node1-docker',
    );
  });

  test('values.schema.json refuses a misspelt key and a variable the chart sets itself', () => {
    expect(refused('services.ipam.replica=3')).toMatch(/additional properties 'replica' not allowed/);
    expect(refused('services.ipam.env.PORT=9000')).toMatch(/invalid propertyName 'PORT'/);
  });

  test('values.schema.json and the chart refuse a bad tlsSecrets value', () => {
    // Not a Secret name: upper case and underscores, or a path out of the folder.
    expect(refused('services.provisioning.tlsSecrets.names={Node1_Docker}')).toMatch(
      /tlsSecrets\/names\/0': 'Node1_Docker' does not match pattern/,
    );
    expect(refused('services.provisioning.tlsSecrets.names={../etc}')).toMatch(/does not match pattern/);
    // A single name where a list belongs, the same Secret twice (two mounts at one path), a relative folder.
    expect(refused('services.provisioning.tlsSecrets.names=node1-docker')).toMatch(
      /tlsSecrets\/names': got string, want array/,
    );
    expect(refused('services.provisioning.tlsSecrets.names={a,a}')).toMatch(/items at 0 and 1 are equal/);
    expect(refused('services.provisioning.tlsSecrets.dir=secrets')).toMatch(
      /tlsSecrets\/dir': 'secrets' does not match/,
    );
    expect(refused('services.provisioning.tlsSecrets.name={a}')).toMatch(
      /additional properties 'name' not allowed/,
    );
    // The folder's variable is the chart's: set in env as well, the two could disagree.
    expect(refused('services.provisioning.env.PROVISIONING_TLS_SECRETS_DIR=/elsewhere')).toMatch(
      /services\.provisioning: env\.PROVISIONING_TLS_SECRETS_DIR is set by the chart from tlsSecrets\.dir/,
    );
  });

  test('skaffold.yaml builds, deploys and forwards each service the chart deploys', () => {
    interface Artifact {
      image: string;
      docker: { dockerfile: string; target?: string };
      requires?: { image: string; alias: string }[];
    }
    const skaffold = parseAllDocuments(
      fs.readFileSync(path.join(repoRoot, 'skaffold.yaml'), 'utf8'),
    )[0]!.toJS() as {
      build: { artifacts: Artifact[] };
      deploy: { helm: { releases: { setValueTemplates: Record<string, string> }[] } };
      portForward: { resourceName: string; port: number }[];
      profiles: { name: string; build?: { artifacts: Artifact[] } }[];
    };
    const dev = skaffold.profiles.find((p) => p.name === 'dev')!.build!.artifacts;
    const set = skaffold.deploy.helm.releases[0]!.setValueTemplates;
    const devCommands = find<Deployment>(render('dev.watch=true'), 'Deployment');
    // The build's output and the migrations image come from the workspace Dockerfile, in both.
    for (const artifacts of [skaffold.build.artifacts, dev]) {
      expect(artifacts.find((a) => a.image === 'testbed/build')?.docker).toEqual({
        dockerfile: 'services/kit/Dockerfile',
        target: 'output',
      });
      expect(artifacts.find((a) => a.image === 'testbed/migrate')?.docker).toEqual({
        dockerfile: 'services/kit/Dockerfile',
        target: 'migrate',
      });
    }
    expect(set).toMatchObject({
      'migrations.image.repository': '{{.IMAGE_REPO_testbed_migrate}}',
      'migrations.image.tag': '{{.IMAGE_TAG_testbed_migrate}}',
      'migrations.image.digest': '{{.IMAGE_DIGEST_testbed_migrate}}',
    });
    for (const name of services) {
      const image = `testbed/${name}`;
      const dockerfile = `services/${name}/Dockerfile`;
      expect(skaffold.build.artifacts.find((a) => a.image === image)).toMatchObject({
        docker: { dockerfile },
        requires: [{ image: 'testbed/build', alias: 'BUILD' }],
      });
      // Its Dockerfile is Node (the official image unless NODE_IMAGE says otherwise) and the
      // service's production bundle with its npm packages from the build, run on plain node as a
      // numeric non-root user; dev.watch runs the entry itself with tsx.
      const entry = `services/${name}/src/main.ts`;
      expect(fs.existsSync(path.join(repoRoot, entry))).toBe(true);
      const text = fs.readFileSync(path.join(repoRoot, dockerfile), 'utf8');
      // With the settings every service process runs with (process-settings.ts).
      const cmd = ['node', ...SERVICE_NODE_FLAGS, `dist/${name}/main.js`];
      expect(text).toContain(`CMD ${JSON.stringify(cmd).replaceAll(',', ', ')}`);
      // Its code cache made in the image, by its node with the same flags (deploy/build/loader.cjs).
      expect(text).toContain(`RUN ${[...cmd, '--write-code-cache'].join(' ')}`);
      for (const [k, v] of Object.entries(SERVICE_PROCESS_ENV))
        expect(text).toMatch(new RegExp(`^\\s+${k}=${v} \\\\$`, 'm'));
      expect(text).toContain('ARG NODE_IMAGE=node:20-bookworm-slim');
      expect(text).toContain('FROM ${BUILD} AS build');
      expect(text).toContain(`COPY --from=build /app/dist/${name}/ dist/${name}/`);
      expect(text).toMatch(/^USER 10001:10001$/m);
      const devCommand = devCommands.find((d) => d.metadata!.name === objectName(name))!.spec!.template.spec!
        .containers[0]!.command;
      expect(devCommand?.at(-1)).toBe(entry);
      expect(dev.find((a) => a.image === image)?.docker).toEqual({
        dockerfile: 'services/kit/Dockerfile',
        target: 'dev',
      });
      const variable = image.replace(/[/-]/g, '_');
      expect(set).toMatchObject({
        [`services.${name}.image.repository`]: `{{.IMAGE_REPO_${variable}}}`,
        [`services.${name}.image.tag`]: `{{.IMAGE_TAG_${variable}}}`,
        [`services.${name}.image.digest`]: `{{.IMAGE_DIGEST_${variable}}}`,
      });
      // The release is `testbed`, so its Services are testbed-<service>.
      expect(skaffold.portForward).toContainEqual(
        expect.objectContaining({ resourceName: `testbed-${name}`, port: 8080 }),
      );
    }
  });
  test('nodeAgent.enabled adds one DaemonSet: host PID, the node’s cgroups, /proc and Docker socket read-only, its node name, /metrics', async () => {
    expect(find(defaults, 'DaemonSet')).toEqual([]);
    expect(refused('nodeAgent.enabled=true')).toMatch(/nodeAgent\.dockerSocketGid: set the group id/);
    // The chart sets these from its own values; in env they could disagree with the mounts.
    expect(
      refused(
        'nodeAgent.enabled=true',
        'nodeAgent.dockerSocketGid=998',
        'nodeAgent.env.NODE_AGENT_PROC_ROOT=/proc',
      ),
    ).toMatch(/invalid propertyName 'NODE_AGENT_PROC_ROOT'/);
    const sets = [
      'nodeAgent.enabled=true',
      'nodeAgent.dockerSocketGid=998',
      'nodeAgent.env.NODE_AGENT_INTERVAL_MS=5000',
    ];
    helm(['lint', '--strict', chart, ...sets.flatMap((v) => ['--set', v])]);
    const objects = render(...sets);
    validateAll(objects);
    const ds = one<apps.IDaemonSet>(objects, 'DaemonSet', objectName('node-agent'));
    const pod = ds.spec!.template.spec!;
    expect(pod.hostPID).toBe(true);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      supplementalGroups: [998],
    });
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    const c = pod.containers[0]!;
    expect(c.image).toBe('testbed/node-agent:0.1.0');
    expect(c.ports).toEqual([{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }]);
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(ds.spec!.template.metadata!.annotations).toMatchObject({
      'prometheus.io/port': '9464',
      'prometheus.io/path': '/metrics',
    });

    // Each host path mounted read-only where the agent's variables point.
    const hostPaths = Object.fromEntries((pod.volumes ?? []).map((v) => [v.name, v.hostPath]));
    expect(hostPaths).toEqual({
      cgroup: { path: '/sys/fs/cgroup', type: 'Directory' },
      proc: { path: '/proc', type: 'Directory' },
      'docker-socket': { path: '/var/run/docker.sock', type: 'Socket' },
    });
    const mounts = Object.fromEntries((c.volumeMounts ?? []).map((m) => [m.name, m]));
    for (const m of Object.values(mounts)) expect(m.readOnly).toBe(true);
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
    expect(env.NODE_AGENT_NODE?.valueFrom?.fieldRef?.fieldPath).toBe('spec.nodeName');
    expect(env.NODE_AGENT_CGROUP_ROOT?.value).toBe(mounts.cgroup!.mountPath);
    expect(env.NODE_AGENT_PROC_ROOT?.value).toBe(mounts.proc!.mountPath);
    expect(env.DOCKER_HOST?.value).toBe(`unix://${mounts['docker-socket']!.mountPath}`);
    expect(c.envFrom?.map((e) => e.configMapRef?.name)).toEqual([`${release}-testbed-config`]);

    // What the pod's environment would be is a valid agent configuration, every name in its README.
    const { loadNodeAgentConfig } = await import('../../services/node-agent/src/config');
    const shared = one<core.IConfigMap>(objects, 'ConfigMap', `${release}-testbed-config`).data!;
    const podEnv = Object.fromEntries(
      Object.entries(env).map(([name, e]) => [
        name,
        e.value ?? (name === 'NODE_AGENT_NODE' ? 'node7' : undefined),
      ]),
    );
    expect(loadNodeAgentConfig({ ...shared, ...podEnv })).toMatchObject({
      NODE_AGENT_NODE: 'node7',
      NODE_AGENT_INTERVAL_MS: 5000,
      NODE_AGENT_PORT: 9464,
      KAFKA_BROKERS: ['kafka:9092'],
    });
    const readme = fs.readFileSync(path.join(repoRoot, 'services', 'node-agent', 'README.md'), 'utf8');
    for (const name of Object.keys(env)) expect(readme).toContain(`| \`${name}\``);
  });
});
