import { z } from 'zod';
import { brokerList, logLevel, port } from '@testbed/kit/src/config/common';
import { loadConfig } from '@testbed/kit/src/config/load-config';

const absolutePath = z.string().regex(/^\/\S*$/, 'an absolute path');
const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/**
 * The standalone agent's environment (README.md's table). Parsed once at start; every problem is
 * listed at once and the process exits 2.
 */
export const nodeAgentConfigShape = {
  /** The testbed node's name, as the platform registered it: the key of its batches. */
  NODE_AGENT_NODE: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/, "a node name: letters, digits, '.', '_', '-'"),
  /** The node's Docker daemon: the local socket, or tcp:// (TLS with DOCKER_CERT_PATH). */
  DOCKER_HOST: z
    .string()
    .regex(/^(unix:\/\/\/\S+|tcp:\/\/[^/:\s]+:\d+\/?)$/, 'unix:///path or tcp://host:port')
    .default('unix:///var/run/docker.sock'),
  /** Folder of ca.pem, cert.pem and key.pem for a tcp:// DOCKER_HOST (Docker's own variable). */
  DOCKER_CERT_PATH: absolutePath.optional(),
  KAFKA_BROKERS: brokerList,
  KAFKA_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_' and '-'")
    .optional(),
  NODE_AGENT_INTERVAL_MS: int(100, 3_600_000, 3000),
  NODE_AGENT_BUFFER_BATCHES: int(1, 1_000_000, 1200),
  NODE_AGENT_HEARTBEAT_EVERY: int(1, 10_000, 5),
  NODE_AGENT_CGROUP_ROOT: absolutePath.default('/sys/fs/cgroup'),
  NODE_AGENT_PROC_ROOT: absolutePath.default('/proc'),
  /** The daemon's --cgroup-parent: only for finding cgroups /proc/<pid>/cgroup does not show. */
  NODE_AGENT_CGROUP_PARENT: z.string().min(1).optional(),
  NODE_AGENT_PORT: port.default(9464),
  NODE_AGENT_LISTEN_HOST: z.string().min(1).default('0.0.0.0'),
  /** How long a stopping agent tries to send what it buffered. */
  NODE_AGENT_FLUSH_TIMEOUT_MS: int(0, 60_000, 5000),
  LOG_LEVEL: logLevel.default('info'),
};

export const nodeAgentConfigSchema = z.object(nodeAgentConfigShape);
export type NodeAgentConfig = z.infer<typeof nodeAgentConfigSchema>;

/** Throws the kit's ConfigError listing every problem. */
export function loadNodeAgentConfig(env: Record<string, string | undefined> = process.env): NodeAgentConfig {
  return loadConfig(nodeAgentConfigSchema, env);
}
