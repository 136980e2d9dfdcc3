import path from 'node:path';
import { NodeDocker } from './node-docker';
import type { NodeEndpoint } from './node-client';
import type { NodeRecord } from '../store/node-store';
import type { DockerCallObserver } from '../metrics';

/** One NodeDocker per node, rebuilt when the node's endpoint changes. */
export class NodeDockers {
  private readonly clients = new Map<string, { key: string; docker: NodeDocker }>();

  constructor(
    private readonly timeoutMs: number,
    private readonly secretsDir: string,
    private readonly observe?: DockerCallObserver,
  ) {}

  endpointOf(node: NodeRecord): NodeEndpoint {
    const tls =
      node.tlsCaPath && node.tlsCertPath && node.tlsKeyPath
        ? { caPath: node.tlsCaPath, certPath: node.tlsCertPath, keyPath: node.tlsKeyPath }
        : node.tlsSecretRef
          ? {
              caPath: path.join(this.secretsDir, node.tlsSecretRef, 'ca.pem'),
              certPath: path.join(this.secretsDir, node.tlsSecretRef, 'cert.pem'),
              keyPath: path.join(this.secretsDir, node.tlsSecretRef, 'key.pem'),
            }
          : undefined;
    return { name: node.name, dockerHost: node.dockerHost, ...(tls ? { tls } : {}), insecure: node.insecure };
  }

  for(node: NodeRecord): NodeDocker {
    const endpoint = this.endpointOf(node);
    const key = JSON.stringify(endpoint);
    const cached = this.clients.get(node.name);
    if (cached?.key === key) return cached.docker;
    const docker = new NodeDocker(endpoint, this.timeoutMs, this.observe);
    this.clients.set(node.name, { key, docker });
    return docker;
  }
}
