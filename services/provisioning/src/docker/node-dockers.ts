import path from 'node:path';
import { DomainError } from '@testbed/kit';
import { DockerCallError } from './deadline';
import { NodeDocker } from './node-docker';
import type { DockerCallObserver } from './daemon';
import { dockerClientFor, type DockerClientFactory, type NodeEndpoint } from './node-client';
import type { NodeRecord } from '../store/node-store';

/** One NodeDocker per node, rebuilt when the node's endpoint changes. */
export class NodeDockers {
  private readonly clients = new Map<string, { key: string; docker: NodeDocker }>();

  constructor(
    private readonly timeoutMs: number,
    private readonly secretsDir: string,
    private readonly observe?: DockerCallObserver,
    private readonly clientFactory: DockerClientFactory = dockerClientFor,
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
    return this.forEndpoint(this.endpointOf(node));
  }

  /** A client for an endpoint not (yet) recorded as a node (the local daemon's first check). */
  forEndpoint(endpoint: NodeEndpoint, timeoutMs = this.timeoutMs): NodeDocker {
    const key = JSON.stringify([endpoint, timeoutMs]);
    const cached = this.clients.get(endpoint.name);
    if (cached?.key === key) return cached.docker;
    let docker: NodeDocker;
    try {
      docker = new NodeDocker(endpoint, timeoutMs, this.observe, this.clientFactory);
    } catch (err) {
      // The TLS material is read here: a missing or unreadable file is an unreachable node (503), not a fault of ours.
      if (err instanceof DomainError) throw err;
      throw DockerCallError.of(endpoint.name, 'read its TLS material', err);
    }
    this.clients.set(endpoint.name, { key, docker });
    return docker;
  }
}
