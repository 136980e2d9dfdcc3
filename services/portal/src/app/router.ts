import { useEffect, useState } from 'preact/hooks';

/** Client routes: the History API, no library. The server answers index.html for each of them. */
export type RouteName =
  | 'nodes'
  | 'create'
  | 'container'
  | 'batch'
  | 'monitor'
  | 'reservations'
  | 'networks'
  | 'operations'
  | 'users'
  | 'signin'
  | 'callback'
  | 'notfound';

export interface Route {
  name: RouteName;
  params: Record<string, string>;
  query: URLSearchParams;
  path: string;
}

const table: [RegExp, RouteName, string[]][] = [
  [/^\/$/, 'nodes', []],
  [/^\/nodes\/?$/, 'nodes', []],
  [/^\/containers\/new\/?$/, 'create', []],
  [/^\/containers\/([^/]+)\/?$/, 'container', ['id']],
  [/^\/batches\/?$/, 'batch', []],
  [/^\/monitor\/?$/, 'monitor', []],
  [/^\/reservations\/?$/, 'reservations', []],
  [/^\/networks\/?$/, 'networks', []],
  [/^\/operations\/?$/, 'operations', []],
  [/^\/users\/?$/, 'users', []],
  [/^\/signin\/?$/, 'signin', []],
  [/^\/auth\/callback\/?$/, 'callback', []],
];

export function parseRoute(url: URL): Route {
  for (const [re, name, keys] of table) {
    const m = re.exec(url.pathname);
    if (m) {
      const params: Record<string, string> = {};
      keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1] ?? '')));
      return { name, params, query: url.searchParams, path: url.pathname };
    }
  }
  return { name: 'notfound', params: {}, query: url.searchParams, path: url.pathname };
}

const listeners = new Set<() => void>();

export function currentRoute(): Route {
  return parseRoute(new URL(location.href));
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  for (const l of listeners) l();
}

addEventListener('popstate', () => {
  for (const l of listeners) l();
});

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    listeners.add(update);
    return () => void listeners.delete(update);
  }, []);
  return route;
}

/** A same-tab link click becomes a client navigation; modified clicks (new tab) stay the browser's. */
export function onLinkClick(e: MouseEvent): void {
  const a = (e.currentTarget as HTMLAnchorElement | null) ?? null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href);
  if (url.origin !== location.origin) return;
  e.preventDefault();
  navigate(url.pathname + url.search + url.hash);
}

/** Only a path of this portal: `?next=` must not send a person to another site. */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/signin')
    ? next
    : '/nodes';
}
