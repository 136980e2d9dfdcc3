/**
 * The set-up the in-process fault tests share: a private Docker daemon as node `node`, the whole
 * platform (ipam, quota, provisioning) composed in this process on the database and brokers the
 * test gives, the node registered, and the invariants' input. `stop` takes everything down, the
 * daemon last, whatever state the fault left it in.
 */
import { randomSuffix } from '@testbed/test-support/rig';
import { startPrivateDockerd, type PrivateDockerd } from '@testbed/test-support/private-dockerd';
import type { InvariantInput } from './invariants';
import {
  USER,
  consumersByTopic,
  faultSubnet,
  registerNode,
  startBatch,
  startFaultPlatform,
  type FaultPlatform,
  type FaultSubnet,
} from './platform';

export interface BatchFault {
  platform: FaultPlatform;
  dockerd: PrivateDockerd;
  node: string;
  subnet: FaultSubnet;
  platformId: string;
  input: InvariantInput;
  /** Starts the batch of 20 on the node; answers the operation. */
  startBatch(): Promise<{ id: string }>;
  stop(): Promise<void>;
}

export async function startBatchFault(opts: {
  name: string;
  node: string;
  /** The file's subnet number (10.66.<n>.0/24). */
  subnet: number;
  databaseUrl: string;
  brokers: string[];
}): Promise<BatchFault> {
  const subnet = faultSubnet(opts.subnet);
  const platformId = `fault-${randomSuffix()}`;
  const dockerd = await startPrivateDockerd();
  let platform: FaultPlatform | undefined;
  try {
    platform = await startFaultPlatform({
      name: opts.name,
      databaseUrl: opts.databaseUrl,
      brokers: opts.brokers,
      namespace: `test-${randomSuffix()}`,
      subnet,
      platformId,
      provisioning: true,
    });
    await registerNode(platform, {
      name: opts.node,
      dockerHost: dockerd.dockerHost,
      macvlanParent: dockerd.macvlanParent,
    });
  } catch (err) {
    await platform?.stop().catch(() => undefined);
    await dockerd.destroy();
    throw err;
  }
  const p = platform;
  return {
    platform: p,
    dockerd,
    node: opts.node,
    subnet,
    platformId,
    input: {
      db: p.db,
      docker: dockerd.docker,
      node: opts.node,
      platformId,
      user: USER,
      consumers: consumersByTopic(p.modules),
    },
    startBatch: () => startBatch(p, { prefix: `${opts.name}-${randomSuffix()}`, node: opts.node, subnet }),
    async stop() {
      // The daemon first answers again, so that the platform's stop is not held by a dead socket.
      if (!dockerd.running()) await dockerd.start().catch(() => undefined);
      await p.stop().catch(() => undefined);
      await dockerd.destroy();
    },
  };
}
