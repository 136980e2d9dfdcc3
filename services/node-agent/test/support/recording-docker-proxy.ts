import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A unix socket in front of a rig daemon's socket that passes every byte both ways and notes
 * the request line of each HTTP request the client sends: what the agent asked of the real
 * daemon, for checks like "never the stats endpoint".
 */
export interface RecordingDockerProxy {
  socket: string;
  /** `GET /v1.41/containers/json?…` for each request so far. */
  requests(): string[];
  close(): Promise<void>;
}

const REQUEST_LINE = /(?:^|\r\n)(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP\/1\.[01]\r\n/g;

export async function startRecordingDockerProxy(target: string): Promise<RecordingDockerProxy> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docker-proxy-'));
  const socket = path.join(dir, 'docker.sock');
  const seen: string[] = [];
  const conns = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    conns.add(client).add(upstream);
    let pending = '';
    client.on('data', (chunk: Buffer) => {
      // Request lines are ASCII; bodies (rare here) may hold anything and are only scanned.
      pending = (pending + chunk.toString('latin1')).slice(-8192);
      for (const m of pending.matchAll(REQUEST_LINE)) seen.push(`${m[1]} ${m[2]}`);
      const last = pending.lastIndexOf('\r\n');
      pending = last >= 0 ? pending.slice(last) : pending;
    });
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      conns.delete(client);
      conns.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  return {
    socket,
    requests: () => [...seen],
    async close() {
      for (const c of conns) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
