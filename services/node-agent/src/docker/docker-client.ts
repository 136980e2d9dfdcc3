import fs from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';

/**
 * The node's Docker daemon from DOCKER_HOST: `unix:///path` (the agent runs on the node, so the
 * local socket is the usual way), or `tcp://host:port`, with TLS when DOCKER_CERT_PATH names a
 * folder of Docker's ca.pem, cert.pem and key.pem.
 */
export function dockerFromHost(dockerHost: string, certPath?: string): Docker {
  const url = new URL(dockerHost);
  if (url.protocol === 'unix:') return new Docker({ socketPath: url.pathname });
  if (url.protocol !== 'tcp:') throw new TypeError(`DOCKER_HOST ${dockerHost}: unix:// or tcp:// only`);
  const port = Number(url.port || (certPath ? 2376 : 2375));
  if (!certPath) return new Docker({ host: url.hostname, port, protocol: 'http' });
  const file = (name: string) => fs.readFileSync(path.join(certPath, name));
  return new Docker({
    host: url.hostname,
    port,
    protocol: 'https',
    ca: file('ca.pem'),
    cert: file('cert.pem'),
    key: file('key.pem'),
  });
}
