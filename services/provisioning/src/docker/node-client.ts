import fs from 'node:fs';
import Docker from 'dockerode';
import { InvalidError } from '@testbed/kit';

/** How to reach one node's daemon; TLS material by reference (file paths), read when connecting. */
export interface NodeEndpoint {
  name: string;
  dockerHost: string;
  tls?: { caPath: string; certPath: string; keyPath: string };
  /** Plain TCP without TLS, allowed only when an operator says so. */
  insecure?: boolean;
}

/** Builds the dockerode client of a node (injected through the service's dependencies). */
export type DockerClientFactory = (endpoint: NodeEndpoint, timeoutMs?: number) => Docker;

/**
 * A dockerode client for a node. `timeoutMs` bounds each request on the socket; streams that
 * may stay quiet for long (events, logs follow) take a client built with no timeout.
 */
export function dockerClientFor(endpoint: NodeEndpoint, timeoutMs?: number): Docker {
  const url = new URL(endpoint.dockerHost);
  const common = timeoutMs ? { timeout: timeoutMs } : {};
  switch (url.protocol) {
    case 'unix:':
      return new Docker({ socketPath: url.pathname, ...common });
    case 'tcp:':
    case 'https:':
    case 'http:': {
      const port = Number(url.port || (endpoint.tls ? 2376 : 2375));
      if (endpoint.tls) {
        return new Docker({
          host: url.hostname,
          port,
          protocol: 'https',
          ca: fs.readFileSync(endpoint.tls.caPath),
          cert: fs.readFileSync(endpoint.tls.certPath),
          key: fs.readFileSync(endpoint.tls.keyPath),
          ...common,
        });
      }
      if (!endpoint.insecure) throw insecureRefused(endpoint.name);
      return new Docker({ host: url.hostname, port, protocol: 'http', ...common });
    }
    case 'ssh:':
      return new Docker({
        protocol: 'ssh',
        host: url.hostname,
        port: Number(url.port || 22),
        username: url.username || undefined,
        ...common,
      } as Docker.DockerOptions);
    default:
      throw InvalidError.field('dockerHost', `unsupported scheme ${url.protocol} (unix://, tcp://, ssh://)`);
  }
}

export function insecureRefused(node: string): InvalidError {
  return InvalidError.field(
    'tls',
    `node ${node}: plain TCP without TLS is refused; give TLS material, or set insecure: true explicitly`,
  );
}

/** Checks an endpoint's shape and TLS rule without connecting. */
export function checkEndpoint(endpoint: NodeEndpoint): void {
  let url: URL;
  try {
    url = new URL(endpoint.dockerHost);
  } catch {
    throw InvalidError.field('dockerHost', 'not a URL (unix:///path, tcp://host:port, ssh://user@host)');
  }
  if (!['unix:', 'tcp:', 'ssh:'].includes(url.protocol))
    throw InvalidError.field('dockerHost', `unsupported scheme ${url.protocol} (unix://, tcp://, ssh://)`);
  if (url.protocol === 'tcp:' && !endpoint.tls && !endpoint.insecure) throw insecureRefused(endpoint.name);
}
