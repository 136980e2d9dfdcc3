/** The node agent for the hosts that embed it (the embedded default's `local` node); its readers import ./wire. */
export { createNodeAgent, type NodeAgent, type NodeAgentOptions } from './agent';
export type { AgentStatus } from './agent-status';
export { createAgentMetrics, type AgentMetrics } from './metrics';
export { startAgentHttp, type AgentHttp } from './http';
export {
  loadNodeAgentConfig,
  nodeAgentConfigSchema,
  nodeAgentConfigShape,
  type NodeAgentConfig,
} from './config';
export { dockerFromHost } from './docker/docker-client';
export * from './wire';
