import type Docker from 'dockerode';
import { inSpan, SpanKind } from '@testbed/kit';
import { dockerClientFor, type DockerClientFactory, type NodeEndpoint } from './node-client';
import { DockerCallError, withDeadline } from './deadline';

/** What a node's client reports of each Docker call: which node, which call, how long, how it ended. */
export type DockerCallObserver = (node: string, call: string, seconds: number, ok: boolean) => void;

/**
 * One node's daemon: its dockerode clients and `call`, the one way to ask it anything. Every
 * call has a deadline, is timed, and fails naming the node with the daemon's own message.
 */
export class Daemon {
  readonly docker: Docker;
  private streams: Docker | undefined;

  constructor(
    readonly endpoint: NodeEndpoint,
    readonly timeoutMs = 30_000,
    private readonly observe?: DockerCallObserver,
    private readonly clientFactory: DockerClientFactory = dockerClientFor,
  ) {
    this.docker = clientFactory(endpoint, timeoutMs);
  }

  get node(): string {
    return this.endpoint.name;
  }

  /** A client without a socket timeout, for streams that may stay quiet for long (events). */
  streamClient(): Docker {
    return (this.streams ??= this.clientFactory(this.endpoint));
  }

  /**
   * A Docker call with this node's deadline; a failure names the node and the call. Each call is
   * a client span `docker <call>` with the node, the call and, when given, the container.
   */
  call<T>(
    what: string,
    work: () => Promise<T>,
    opts: number | { ms?: number; container?: string } = {},
  ): Promise<T> {
    const { ms = this.timeoutMs, container } = typeof opts === 'number' ? { ms: opts } : opts;
    // The metric's label and the span's name are the kind of call ("create container"), never the name in it.
    const kind = what.split(' ').slice(0, 2).join(' ');
    return inSpan(
      `docker ${kind}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'testbed.node': this.node,
          'docker.call': what,
          'server.address': serverAddress(this.endpoint.dockerHost),
          ...(container ? { 'container.id': container } : {}),
        },
      },
      () => this.timed(kind, what, work, ms),
    );
  }

  private timed<T>(kind: string, what: string, work: () => Promise<T>, ms: number): Promise<T> {
    let started: Promise<T>;
    try {
      started = work();
    } catch (err) {
      return Promise.reject(DockerCallError.of(this.node, what, err));
    }
    const observe = this.observe;
    if (!observe) return withDeadline(this.node, what, ms, started);
    const t0 = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - t0) / 1e9;
    return withDeadline(this.node, what, ms, started).then(
      (v) => (observe(this.node, kind, seconds(), true), v),
      (err: unknown) => {
        observe(this.node, kind, seconds(), false);
        throw err;
      },
    );
  }
}

/** The daemon's host (a socket's path for unix://), as OpenTelemetry's server.address. */
function serverAddress(dockerHost: string): string {
  try {
    const url = new URL(dockerHost);
    return url.protocol === 'unix:' ? url.pathname : url.hostname;
  } catch {
    return dockerHost;
  }
}
