/** The services `npm run start:services` runs, each as its own process, with its port. */
export interface ServiceProcess {
  name: string;
  entry: string;
  port: number;
  /** Variables of this process alone (on top of the rig's). */
  env?: Record<string, string>;
}

export const serviceProcesses: ServiceProcess[] = [
  { name: 'ipam', entry: 'services/ipam/src/main.ts', port: 8081 },
  { name: 'provisioning', entry: 'services/provisioning/src/main.ts', port: 8082 },
  { name: 'quota', entry: 'services/quota/src/main.ts', port: 8083 },
  { name: 'stats', entry: 'services/stats/src/main.ts', port: 8084 },
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
      entry: 'services/node-agent/src/main.ts',
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
