import { randomBytes } from 'node:crypto';
import { rigEnv } from '../../../test/support/rig';
import type { NodeEndpoint } from '../src/docker/node-client';

/** The rig's TLS nodes as endpoints (deploy/local/.env). */
export function rigEndpoint(node: string): NodeEndpoint & { macvlanParent: string } {
  const env = rigEnv('TESTBED_NODES', 'DOCKER_TLS_CA');
  const up = node.toUpperCase();
  return {
    name: node,
    dockerHost: env[`${up}_DOCKER_HOST`] as string,
    tls: {
      caPath: env.DOCKER_TLS_CA as string,
      certPath: env.DOCKER_TLS_CERT as string,
      keyPath: env.DOCKER_TLS_KEY as string,
    },
    macvlanParent: env[`${up}_MACVLAN_PARENT`] as string,
  };
}

/** A platform label of this test file's own, so reconcilers of concurrent test files never touch its containers. */
export function testPlatform(): string {
  return `test-${randomBytes(4).toString('hex')}`;
}

/** Polls `probe` until it answers a truthy value or `ms` pass (every wait bounded, STYLE 13). */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false>,
  ms: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
