import { useEffect, useRef, useState } from 'preact/hooks';
import { configureApi } from './api/client';
import type { PortalConfig } from './api/types';
import { actsForOthers, endSession, session, useSession } from './auth/session-store';
import { oidcSignOutUrl } from './auth/oidc';
import { navigate, safeNext, useRoute, type Route, type RouteName } from './router';
import { Link } from './ui/bits';
import { SignInPage } from './pages/sign-in-page';
import { CallbackPage } from './pages/callback-page';
import { NodesPage } from './pages/nodes-page';
import { CreateContainerPage } from './pages/create-container-page';
import { ContainerPage } from './pages/container-page';
import { BatchPage } from './pages/batch-page';
import { MonitorPage } from './pages/monitor-page';
import { ReservationsPage } from './pages/reservations-page';
import { NetworksPage } from './pages/networks-page';
import { OperationsPage } from './pages/operations-page';
import { UsersPage } from './pages/users-page';

interface NavItem {
  href: string;
  label: string;
  routes: RouteName[];
  operatorsOnly?: boolean;
}

const NAV: NavItem[] = [
  { href: '/nodes', label: 'Nodes & containers', routes: ['nodes', 'container'] },
  { href: '/containers/new', label: 'New container', routes: ['create'] },
  { href: '/batches', label: 'Batch', routes: ['batch'] },
  { href: '/monitor', label: 'Monitor', routes: ['monitor'] },
  { href: '/reservations', label: 'Reservations', routes: ['reservations'] },
  { href: '/networks', label: 'Networks', routes: ['networks'] },
  { href: '/operations', label: 'Operations', routes: ['operations'] },
  { href: '/users', label: 'Users & quotas', routes: ['users'], operatorsOnly: true },
];

export function App({ config }: { config: PortalConfig }) {
  const route = useRoute();
  const s = useSession();
  configureApi({
    base: config.apiBase,
    token: () => session()?.token ?? null,
    onUnauthorized: (p) => {
      endSession(`Signed out: the platform refused the token (${p.detail || p.title}). Sign in again.`);
      navigate(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
    },
  });

  if (route.name === 'callback') return <CallbackPage config={config} />;
  if (!s) return <SignInPage config={config} route={route} />;
  if (route.name === 'signin') return <Redirect to={safeNext(route.query.get('next'))} />;
  return <Shell config={config} route={route} />;
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

function Shell({ config, route }: { config: PortalConfig; route: Route }) {
  const s = useSession()!;
  const [menuOpen, setMenuOpen] = useState(false);
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  // A client navigation moves focus to the new page's heading, as a page load would start at the top.
  useEffect(() => {
    setMenuOpen(false);
    if (first.current) {
      first.current = false;
      return;
    }
    const h1 = main.current?.querySelector<HTMLElement>('h1');
    h1?.focus();
    window.scrollTo(0, 0);
  }, [route.path]);

  const signOut = async () => {
    const url = config.signIn.method === 'oidc' ? await oidcSignOutUrl(config.signIn, s) : null;
    endSession('You signed out.');
    if (url) location.assign(url);
    else navigate('/signin', { replace: true });
  };

  const items = NAV.filter((n) => !n.operatorsOnly || actsForOthers(s));
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <div class="brand">
          <Link href="/nodes">Testbed</Link>
        </div>
        <button
          type="button"
          class="menu-toggle"
          aria-expanded={menuOpen ? 'true' : 'false'}
          aria-controls="nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
        <nav id="nav" class={menuOpen ? 'open' : ''} aria-label="Main">
          <ul>
            {items.map((n) => (
              <li key={n.href}>
                <Link href={n.href} aria-current={n.routes.includes(route.name) ? 'page' : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span class="who-name" data-testid="signed-in-user">
            {s.user}
          </span>{' '}
          <span class="who-role">({s.role})</span>
          <button type="button" class="small" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Page route={route} />
      </main>
    </div>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.name) {
    case 'nodes':
      return <NodesPage route={route} />;
    case 'create':
      return <CreateContainerPage route={route} />;
    case 'container':
      return <ContainerPage id={route.params.id!} />;
    case 'batch':
      return <BatchPage route={route} />;
    case 'monitor':
      return <MonitorPage />;
    case 'reservations':
      return <ReservationsPage route={route} />;
    case 'networks':
      return <NetworksPage />;
    case 'operations':
      return <OperationsPage />;
    case 'users':
      return <UsersPage />;
    default:
      return (
        <section>
          <h1 tabIndex={-1}>Page not found</h1>
          <p>
            There is no page at <code>{route.path}</code>. <Link href="/nodes">Go to the nodes</Link>.
          </p>
        </section>
      );
  }
}
