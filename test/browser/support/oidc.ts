import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { repoRoot } from '../../support/rig';

export const OIDC_CLIENT_ID = 'testbed-portal';
export const OIDC_RESOURCE = 'urn:testbed';
export const OIDC_AUDIENCE = 'testbed';

export interface IdentityProvider {
  issuer: string;
  jwksUrl: string;
  stop(): Promise<void>;
}

/** A free loopback port (the portal's origin must be known to the provider before the platform starts). */
export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** Starts the OpenID provider of identity-provider.ts for a portal at `portalOrigin`, with these users. */
export async function startIdentityProvider(
  portalOrigin: string,
  users: { sub: string; role: string; name: string }[],
): Promise<IdentityProvider> {
  // node with tsx's loader: one process, so stopping it stops the provider (no wrapper in between).
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, 'identity-provider.ts'), portalOrigin, JSON.stringify(users)],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'test' } },
  );
  let out = '';
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const issuer = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the identity provider did not start within 20 s:\n${err}`)),
      20_000,
    );
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /ISSUER (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the identity provider exited (${code}):\n${err}`));
    });
  });
  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      child.stdout?.destroy();
      child.stderr?.destroy();
    },
  };
}
