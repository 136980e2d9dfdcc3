import { render } from 'preact';
import './styles.css';
import { App } from './app';
import type { PortalConfig } from './api/types';

async function boot(): Promise<void> {
  const root = document.getElementById('app')!;
  let config: PortalConfig;
  try {
    const res = await fetch('/portal-config.json', { cache: 'no-cache' });
    if (!res.ok) throw new Error(`/portal-config.json answered ${res.status}`);
    config = (await res.json()) as PortalConfig;
  } catch (err) {
    root.textContent = `The portal cannot start: ${(err as Error).message}. Reload the page; if it persists, the server is misconfigured.`;
    return;
  }
  render(<App config={config} />, root);
}

void boot();
