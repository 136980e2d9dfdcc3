import type { RouteSpec } from '../http/route';

const SINGULAR: Record<string, string> = {
  batches: 'batch',
  containers: 'container',
  networks: 'network',
  nodes: 'node',
  operations: 'operation',
  pools: 'pool',
  reservations: 'reservation',
  tokens: 'token',
  users: 'user',
};

const singular = (segment: string) => SINGULAR[segment] ?? segment.replace(/s$/, '');

/** What a mutating route does, as the audit log names it: `container.start`, `node.images.pull`. */
export interface RouteAction {
  action: string;
  targetType: string;
  /** The path parameter naming the target (`id` of /v1/containers/:id). */
  targetParam?: string;
}

/**
 * Derives the action from the route's path and method: the resource is the first segment after
 * /v1; DELETE removes, PUT and PATCH update, POST creates in a collection (a path that also
 * answers GET) and otherwise names its verb last (`/start`, `/images/pull`).
 */
export function routeActionOf(route: RouteSpec, collections: ReadonlySet<string>): RouteAction {
  const segments = route.path.split('/').filter((s) => s && s !== 'v1');
  const [resource = 'platform', ...rest] = segments;
  const targetParam = rest[0]?.startsWith(':') ? rest[0].slice(1) : undefined;
  const literals = rest.filter((s) => !s.startsWith(':'));
  const verb =
    route.method === 'delete'
      ? 'remove'
      : route.method === 'put' || route.method === 'patch'
        ? 'update'
        : collections.has(route.path) || literals.length === 0
          ? 'create'
          : undefined;
  const action = route.auditAction ?? [singular(resource), ...literals, ...(verb ? [verb] : [])].join('.');
  return { action, targetType: singular(resource), ...(targetParam ? { targetParam } : {}) };
}

/** The paths that answer GET: a POST on one of them creates a member. */
export function collectionPaths(routes: readonly RouteSpec[]): Set<string> {
  return new Set(routes.filter((r) => r.method === 'get').map((r) => r.path));
}
