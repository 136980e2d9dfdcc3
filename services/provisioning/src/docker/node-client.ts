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
          ca: readTlsFile(endpoint.tls.caPath),
          cert: readTlsFile(endpoint.tls.certPath),
          key: readTlsFile(endpoint.tls.keyPath),
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

/** TLS material is a PEM file of a few kilobytes; anything far larger is not one. */
const MAX_TLS_FILE_BYTES = 1024 * 1024;

/**
 * Reads one TLS file of a node. Only a regular file of at most 1 MiB: a path naming a device
 * (`/dev/zero`), a fifo or a huge file would block or exhaust the process in a synchronous read.
 * Such a node cannot be reached, as with a missing file (`ETLSFILE` counts as unreachable).
 */
export function readTlsFile(file: string): Buffer {
  const st = fs.statSync(file);
  if (!st.isFile() || st.size > MAX_TLS_FILE_BYTES)
    throw Object.assign(new Error(`TLS file ${file} is not a regular file of at most 1 MiB`), {
      code: 'ETLSFILE',
    });
  return fs.readFileSync(file);
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
