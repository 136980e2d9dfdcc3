import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A FAKE Kubernetes API server: no cluster can run here, so the Lease elector is tested against
 * this stand-in. It implements only what the elector uses, the way kube-apiserver answers it:
 *
 *   GET  /apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}   404 when absent
 *   POST /apis/coordination.k8s.io/v1/namespaces/{ns}/leases          409 AlreadyExists
 *   PUT  /apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}   404 when absent, 409 Conflict
 *                                                                      on a stale resourceVersion
 *
 * with a cluster-wide resourceVersion counter, a Bearer token on every request (401 without),
 * and MicroTime fields checked for exactly six fractional digits (kube-apiserver answers 400
 * otherwise). Stricter than the real one in one place: a PUT must carry a resourceVersion.
 * `cutOff(token)` cuts one client off, as a network partition would: its connections are reset
 * (`refuse`) or its requests are never answered (`stall`).
 */
export interface FakeKubernetesApiServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The stored lease as the API would return it, or undefined. */
  lease(namespace: string, name: string): StoredLease | undefined;
  /** Puts a lease in place, as another client would have written it. */
  seed(namespace: string, name: string, spec: StoredLease['spec']): StoredLease;
  /** Every accepted write, oldest first. */
  readonly writes: AcceptedWrite[];
  /** Every request answered 409. */
  readonly conflicts: Array<{ token: string; method: string; path: string }>;
  cutOff(token: string, how?: 'refuse' | 'stall'): void;
  /** Requests received and not answered yet, stalled ones left out (a test waits for them to settle). */
  readonly answering: number;
  reconnect(token: string): void;
  /** Runs before a POST or PUT is applied: lets a test change the lease under the writer's feet. */
  beforeWrite?: (method: 'POST' | 'PUT', namespace: string, name: string) => void;
  close(): Promise<void>;
}

export interface StoredLease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: {
    name: string;
    namespace: string;
    resourceVersion: string;
    uid: string;
    creationTimestamp: string;
  };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface AcceptedWrite {
  token: string;
  method: 'POST' | 'PUT';
  /** Local time the fake applied it. */
  at: number;
  lease: StoredLease;
}

const itemPath = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases\/([^/?]+)$/;
const collectionPath = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases$/;
// kube-apiserver's MicroTime layout: 2006-01-02T15:04:05.000000Z07:00
const microTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;
const maxBodyBytes = 64 * 1024;

export async function startFakeKubernetesApiServer(): Promise<FakeKubernetesApiServer> {
  const leases = new Map<string, StoredLease>();
  const writes: AcceptedWrite[] = [];
  const conflicts: FakeKubernetesApiServer['conflicts'] = [];
  const cutOffTokens = new Map<string, 'refuse' | 'stall'>();
  const stalled = new Set<http.ServerResponse>();
  let answering = 0;
  let resourceVersion = 1000;
  let uid = 0;

  const key = (namespace: string, name: string) => `${namespace}/${name}`;
  const clone = (lease: StoredLease): StoredLease => structuredClone(lease);

  function store(
    namespace: string,
    name: string,
    spec: StoredLease['spec'],
    existing?: StoredLease,
  ): StoredLease {
    resourceVersion += 1;
    const lease: StoredLease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name,
        namespace,
        resourceVersion: String(resourceVersion),
        uid: existing?.metadata.uid ?? `fake-uid-${++uid}`,
        creationTimestamp:
          existing?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
      spec: structuredClone(spec),
    };
    leases.set(key(namespace, name), lease);
    return lease;
  }

  // The handler reaches the test's hook through this, set once the server listens.
  const self: { fake?: FakeKubernetesApiServer } = {};
  const httpServer = http.createServer((req, res) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const cut = token ? cutOffTokens.get(token) : undefined;
    if (cut === 'refuse') {
      req.socket.destroy();
      return;
    }
    if (cut === 'stall') {
      // Read, never answered: the client's own deadline ends it.
      stalled.add(res);
      res.on('close', () => stalled.delete(res));
      req.resume();
      return;
    }
    answering++;
    res.on('close', () => answering--);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) req.socket.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      const answer = (code: number, body: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const status = (code: number, reason: string, message: string) => {
        if (code === 409)
          conflicts.push({ token: token ?? '', method: req.method ?? '', path: req.url ?? '' });
        answer(code, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message,
          reason,
          code,
        });
      };
      if (!token) return status(401, 'Unauthorized', 'Unauthorized');
      const url = new URL(req.url ?? '/', 'http://fake');
      const item = itemPath.exec(url.pathname);
      const collection = collectionPath.exec(url.pathname);

      let body: Partial<StoredLease> | undefined;
      if (req.method === 'POST' || req.method === 'PUT') {
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Partial<StoredLease>;
        } catch {
          return status(400, 'BadRequest', 'the body is not JSON');
        }
        for (const field of ['acquireTime', 'renewTime'] as const) {
          const value = body.spec?.[field];
          if (value !== undefined && !microTime.test(value)) {
            return status(
              400,
              'BadRequest',
              `Lease in version "v1" cannot be handled as a Lease: parsing time "${value}" as ` +
                `"2006-01-02T15:04:05.000000Z07:00": cannot parse`,
            );
          }
        }
      }

      if (req.method === 'GET' && item) {
        const [, namespace, name] = item as unknown as [string, string, string];
        const lease = leases.get(key(namespace, name));
        if (!lease) return status(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`);
        return answer(200, lease);
      }
      if (req.method === 'POST' && collection && body) {
        const [, namespace] = collection as unknown as [string, string];
        const name = body.metadata?.name;
        if (!name) return status(422, 'Invalid', 'metadata.name: Required value');
        self.fake?.beforeWrite?.('POST', namespace, name);
        if (leases.has(key(namespace, name))) {
          return status(409, 'AlreadyExists', `leases.coordination.k8s.io "${name}" already exists`);
        }
        const lease = store(namespace, name, body.spec ?? {});
        writes.push({ token, method: 'POST', at: Date.now(), lease: clone(lease) });
        return answer(201, lease);
      }
      if (req.method === 'PUT' && item && body) {
        const [, namespace, name] = item as unknown as [string, string, string];
        self.fake?.beforeWrite?.('PUT', namespace, name);
        const existing = leases.get(key(namespace, name));
        if (!existing) return status(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`);
        if (body.metadata?.resourceVersion !== existing.metadata.resourceVersion) {
          return status(
            409,
            'Conflict',
            `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": ` +
              'the object has been modified; please apply your changes to the latest version and try again',
          );
        }
        const lease = store(namespace, name, body.spec ?? {}, existing);
        writes.push({ token, method: 'PUT', at: Date.now(), lease: clone(lease) });
        return answer(200, lease);
      }
      return status(404, 'NotFound', `the fake API server does not serve ${req.method} ${url.pathname}`);
    });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;

  const fake: FakeKubernetesApiServer = {
    url: `http://127.0.0.1:${port}`,
    lease: (namespace, name) => {
      const lease = leases.get(key(namespace, name));
      return lease && clone(lease);
    },
    seed: (namespace, name, spec) => clone(store(namespace, name, spec, leases.get(key(namespace, name)))),
    writes,
    conflicts,
    cutOff: (token, how = 'refuse') => void cutOffTokens.set(token, how),
    get answering() {
      return answering;
    },
    reconnect: (token) => void cutOffTokens.delete(token),
    close: () =>
      new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        for (const res of stalled) res.destroy();
        httpServer.closeAllConnections();
      }),
  };
  self.fake = fake;
  return fake;
}
