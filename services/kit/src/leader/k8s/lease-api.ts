import type { KubeConfig, RequestContext, ResponseContext, V1Lease } from '@kubernetes/client-node';

/** The parts of a coordination.k8s.io/v1 Lease the elector decides on. */
export interface LeaseRecord {
  holderIdentity: string | undefined;
  leaseDurationSeconds: number | undefined;
  acquireTime: Date | undefined;
  renewTime: Date | undefined;
  leaseTransitions: number;
  resourceVersion: string;
}

/** The whole spec the elector writes: a replace sends every field, so nothing stale survives it. */
export interface LeaseSpecWrite {
  holderIdentity: string | undefined;
  leaseDurationSeconds: number;
  acquireTime: Date;
  renewTime: Date;
  leaseTransitions: number;
}

/** `conflict`: another replica wrote the lease first (HTTP 409, or 404 when it was deleted meanwhile). */
export type LeaseWriteResult = LeaseRecord | 'conflict';

export interface LeaseApi {
  /** The lease, or undefined when it does not exist yet. */
  read(): Promise<LeaseRecord | undefined>;
  create(spec: LeaseSpecWrite): Promise<LeaseWriteResult>;
  /** Optimistic concurrency: succeeds only if the lease still has `resourceVersion`. */
  replace(spec: LeaseSpecWrite, resourceVersion: string): Promise<LeaseWriteResult>;
}

/** A failed call to the Kubernetes API, with the HTTP status when there was an answer at all. */
export class KubernetesApiError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number | undefined,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation} failed: ${status === undefined ? '' : `HTTP ${status}: `}${detail}`, options);
    this.name = 'KubernetesApiError';
  }
}

/**
 * Opens the Lease API for one lease. `@kubernetes/client-node` is loaded here, on first use, not
 * when the kit is imported: it is an ES module that takes about a second to load, and only replicas
 * running in a cluster need it.
 */
export async function connectLeaseApi(opts: {
  name: string;
  namespace: string;
  kubeConfig?: KubeConfig;
  /** Each HTTP request is aborted after this long. */
  requestTimeoutMs: number;
}): Promise<LeaseApi> {
  const k8s = await import('@kubernetes/client-node');
  let kubeConfig = opts.kubeConfig;
  if (!kubeConfig) {
    kubeConfig = new k8s.KubeConfig();
    kubeConfig.loadFromCluster();
  }
  const api = kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  const { name, namespace } = opts;

  // A fresh deadline per request: the generated client has no timeout of its own.
  const withDeadline = () => ({
    middleware: [
      {
        pre: (ctx: RequestContext) => {
          ctx.setSignal(AbortSignal.timeout(opts.requestTimeoutMs));
          return new k8s.Observable(Promise.resolve(ctx));
        },
        post: (ctx: ResponseContext) => new k8s.Observable(Promise.resolve(ctx)),
      },
    ],
    middlewareMergeStrategy: 'append' as const,
  });

  // MicroTime: the API server parses exactly six fractional digits and rejects Date#toISOString()'s
  // three with a 400; V1MicroTime serialises the six.
  const body = (spec: LeaseSpecWrite, resourceVersion?: string): V1Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, ...(resourceVersion === undefined ? {} : { resourceVersion }) },
    spec: {
      holderIdentity: spec.holderIdentity,
      leaseDurationSeconds: spec.leaseDurationSeconds,
      acquireTime: new k8s.V1MicroTime(spec.acquireTime.getTime()),
      renewTime: new k8s.V1MicroTime(spec.renewTime.getTime()),
      leaseTransitions: spec.leaseTransitions,
    },
  });

  const statusOf = (err: unknown): number | undefined =>
    err instanceof k8s.ApiException && typeof err.code === 'number' ? err.code : undefined;

  const failure = (operation: string, err: unknown): KubernetesApiError => {
    const status = statusOf(err);
    return new KubernetesApiError(`${operation} lease ${namespace}/${name}`, status, describe(err, status), {
      cause: err,
    });
  };

  return {
    async read() {
      try {
        return toRecord(await api.readNamespacedLease({ name, namespace }, withDeadline()));
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw failure('read', err);
      }
    },
    async create(spec) {
      try {
        return toRecord(await api.createNamespacedLease({ namespace, body: body(spec) }, withDeadline()));
      } catch (err) {
        if (statusOf(err) === 409) return 'conflict';
        throw failure('create', err);
      }
    },
    async replace(spec, resourceVersion) {
      try {
        return toRecord(
          await api.replaceNamespacedLease(
            { name, namespace, body: body(spec, resourceVersion) },
            withDeadline(),
          ),
        );
      } catch (err) {
        const status = statusOf(err);
        if (status === 409 || status === 404) return 'conflict';
        throw failure('replace', err);
      }
    },
  };
}

function toRecord(lease: V1Lease): LeaseRecord {
  const resourceVersion = lease.metadata?.resourceVersion;
  if (!resourceVersion) throw new Error('the API server answered a Lease without metadata.resourceVersion');
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity || undefined,
    leaseDurationSeconds: spec.leaseDurationSeconds,
    acquireTime: toDate(spec.acquireTime),
    renewTime: toDate(spec.renewTime),
    leaseTransitions: spec.leaseTransitions ?? 0,
    resourceVersion,
  };
}

/** The client types MicroTime fields as Dates but hands back the raw strings it received. */
function toDate(value: unknown): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const date = value instanceof Date ? new Date(value.getTime()) : new Date(String(value));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** One line for the log: the API's Status message, or the network error, not the client's header dump. */
function describe(err: unknown, status: number | undefined): string {
  if (status !== undefined) {
    const body = (err as { body?: unknown }).body;
    const parsed = typeof body === 'string' ? safeJson(body) : body;
    const message = (parsed as { message?: unknown } | undefined)?.message;
    if (typeof message === 'string') return message;
    return /Message: (.*)/.exec(err instanceof Error ? err.message : '')?.[1] ?? 'no Status message';
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
