import type Docker from 'dockerode';
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

  /** A Docker call with this node's deadline; a failure names the node and the call. */
  call<T>(what: string, work: () => Promise<T>, ms = this.timeoutMs): Promise<T> {
    let started: Promise<T>;
    try {
      started = work();
    } catch (err) {
      return Promise.reject(DockerCallError.of(this.node, what, err));
    }
    const observe = this.observe;
    if (!observe) return withDeadline(this.node, what, ms, started);
    // The metric's label is the kind of call ("create container"), never the name in it.
    const kind = what.split(' ').slice(0, 2).join(' ');
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
