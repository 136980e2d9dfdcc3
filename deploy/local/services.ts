import { AGENT_NODE_FLAGS } from '@testbed/node-agent/src/node-flags';
import { SERVICE_NODE_FLAGS, SERVICE_PROCESS_ENV } from '@testbed/kit/src/host/process-settings';

/**
 * The services `npm run start:services` runs, each as its own process with its port: the
 * production bundle (`npm run build`: dist/<service>/main.js) on plain node, as in the images.
 */
export interface ServiceProcess {
  name: string;
  /** The service whose bundle runs (services/<service>/src/main.ts → dist/<service>/main.js). */
  service: string;
  entry: string;
  /** node's own flags (the services' and the agent's V8 settings). */
  nodeFlags?: readonly string[];
  port: number;
  /** Variables of this process alone (on top of the rig's). */
  env?: Record<string, string>;
}

/** Every service's V8 flags and malloc setting, as in its image. */
const service = { nodeFlags: SERVICE_NODE_FLAGS, env: { ...SERVICE_PROCESS_ENV } };

export const serviceProcesses: ServiceProcess[] = [
  { name: 'ipam', service: 'ipam', entry: 'dist/ipam/main.js', port: 8081, ...service },
  {
    name: 'provisioning',
    service: 'provisioning',
    entry: 'dist/provisioning/main.js',
    port: 8082,
    ...service,
  },
  { name: 'quota', service: 'quota', entry: 'dist/quota/main.js', port: 8083, ...service },
  { name: 'stats', service: 'stats', entry: 'dist/stats/main.js', port: 8084, ...service },
];

/**
 * One node agent per rig node, reading that daemon's containers (its socket, its cgroup subtree
 * under --cgroup-parent /testbed-nodeN) and serving /metrics on 9465, 9466, 9467.
 */
export function nodeAgentProcesses(env: NodeJS.ProcessEnv): ServiceProcess[] {
  const nodes = (env.TESTBED_NODES ?? '').split(',').filter(Boolean);
  return nodes.map((node, i) => {
    const up = node.toUpperCase();
    const port = 9465 + i;
    return {
      name: `node-agent-${node}`,
      service: 'node-agent',
      entry: 'dist/node-agent/main.js',
      nodeFlags: AGENT_NODE_FLAGS,
      port,
      env: {
        NODE_AGENT_NODE: node,
        DOCKER_HOST: `unix://${env[`${up}_DOCKER_SOCKET`] ?? ''}`,
        NODE_AGENT_PORT: String(port),
        NODE_AGENT_LISTEN_HOST: '127.0.0.1',
        ...(env[`${up}_CGROUP_PARENT`] ? { NODE_AGENT_CGROUP_PARENT: env[`${up}_CGROUP_PARENT`]! } : {}),
      },
    };
  });
}
