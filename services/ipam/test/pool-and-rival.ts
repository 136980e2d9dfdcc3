import pg from 'pg';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import { createIpamService, defaultIpamConfig } from '../src';

/** An ipam host with one pool, and the test's own connection X to its database (a rival writer). */
export interface PoolAndRival {
  t: TestHost;
  x: pg.Client;
  /** An operator's request to the host. */
  call(method: string, pathname: string, body?: unknown): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * ipam alone on a fresh database of the rig's Postgres (in-process bus, no seeded pools) with the
 * pool `name` of `<prefix>.0/24` on `segment`, its range `.10`-`.20`, and X connected.
 */
export async function startPoolAndRival(opts: {
  name: string;
  pool: string;
  segment: string;
  prefix: string;
}): Promise<PoolAndRival> {
  const t = await startTestHost({
    name: opts.name,
    database: 'postgres',
    bus: 'in-process',
    modules: (deps) => [
      createIpamService({ ...deps, config: { ...defaultIpamConfig, IPAM_SEED_POOLS: false } }),
    ],
  });
  const token = await t.token(`${opts.pool}-test`, 'operator');
  const call = (method: string, pathname: string, body?: unknown) =>
    fetch(t.url + pathname, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  const x = new pg.Client({ connectionString: t.databaseUrl });
  try {
    const res = await call('POST', '/v1/pools', {
      name: opts.pool,
      cidr: `${opts.prefix}.0/24`,
      rangeStart: `${opts.prefix}.10`,
      rangeEnd: `${opts.prefix}.20`,
      gateway: `${opts.prefix}.1`,
      segment: opts.segment,
    });
    if (res.status !== 201) throw new Error(`creating the pool answered ${res.status}: ${await res.text()}`);
    await x.connect();
  } catch (err) {
    await t.stop();
    throw err;
  }
  return {
    t,
    x,
    call,
    stop: async () => {
      await x.end();
      await t.stop();
    },
  };
}
