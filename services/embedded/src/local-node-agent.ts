import type { Bus, Logger, ServiceModule } from '@testbed/kit';
import { createNodeAgent, dockerFromHost, type NodeAgent } from '@testbed/node-agent';

export interface LocalAgentOptions {
  bus: Bus;
  logger: Logger;
  /** The local daemon (DOCKER_HOST), the same one provisioning drives as node `local`. */
  dockerHost: string;
  intervalMs: number;
  cgroupRoot: string;
  procRoot: string;
}

/**
 * The embedded default's node agent for the `local` node, in this process: it samples the local
 * daemon's containers and hands its batches to the in-process record streams, where the stats
 * service ingests them as it would from Kafka. Where the host's cgroups do not hold the daemon's
 * containers (Docker Desktop's VM), it reads Docker's one-shot stats and readiness says so.
 */
export function localNodeAgent(opts: LocalAgentOptions): ServiceModule {
  let agent: NodeAgent | undefined;
  return {
    name: 'node-agent',
    readiness: [
      {
        name: 'node-agent',
        check: async () => {
          if (!agent) return 'no local Docker daemon: nothing to sample';
          const s = agent.status();
          return s.source === 'docker-stats'
            ? `node local: reading Docker's one-shot stats (${s.sourceReason ?? 'cgroups not readable'})`
            : `node local: reading ${s.source}, ${s.containers} containers`;
        },
      },
    ],
    start: async () => {
      const docker = dockerFromHost(opts.dockerHost);
      try {
        await docker.ping();
      } catch (err) {
        opts.logger.warn(
          { err: (err as Error).message, dockerHost: opts.dockerHost },
          'the local Docker daemon does not answer: no statistics for node `local`',
        );
        return;
      }
      agent = createNodeAgent({
        node: 'local',
        sink: opts.bus.records,
        docker,
        logger: opts.logger,
        intervalMs: opts.intervalMs,
        cgroupRoot: opts.cgroupRoot,
        procRoot: opts.procRoot,
      });
      await agent.start();
    },
    stop: async () => {
      await agent?.stop({ flushTimeoutMs: 1000 });
    },
  };
}
