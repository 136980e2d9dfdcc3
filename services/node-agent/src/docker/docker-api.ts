import type { Readable } from 'node:stream';
import type Docker from 'dockerode';

/** The parts of Docker info the agent uses. */
export interface DockerInfoAnswer {
  NCPU?: number;
  MemTotal?: number;
  CgroupDriver?: string;
  CgroupVersion?: string;
  ServerVersion?: string;
}

/**
 * Docker's one-shot stats of one container (`/containers/<id>/stats?stream=false&one-shot=true`):
 * the fields the fallback maps. cgroup v1 daemons fill `total_inactive_file`, v2 ones `inactive_file`.
 */
export interface DockerStatsAnswer {
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { usage?: number; stats?: Record<string, number | undefined> };
  pids_stats?: { current?: number };
  networks?: Record<
    string,
    { rx_bytes?: number; rx_packets?: number; tx_bytes?: number; tx_packets?: number }
  >;
}

/**
 * Every Docker call the agent makes, each with an abort signal (the deadlines abort through it).
 * One place for dockerode's typings, which lack the signal on some calls.
 */
export interface NodeDockerApi {
  info(signal: AbortSignal): Promise<DockerInfoAnswer>;
  listRunning(signal: AbortSignal): Promise<{ Id: string }[]>;
  inspect(id: string, signal: AbortSignal): Promise<Docker.ContainerInspectInfo>;
  /** The container events stream; it lives until it ends or the signal aborts. */
  events(signal: AbortSignal): Promise<Readable>;
  /** Only the docker-stats fallback calls this. */
  oneShotStats(id: string, signal: AbortSignal): Promise<DockerStatsAnswer>;
}

type WithSignal<T> = (opts: Record<string, unknown> & { abortSignal: AbortSignal }) => Promise<T>;

export function nodeDockerApi(docker: Docker): NodeDockerApi {
  return {
    info: (signal) =>
      (docker.info as unknown as WithSignal<DockerInfoAnswer>).call(docker, { abortSignal: signal }),
    listRunning: (signal) =>
      docker.listContainers({ filters: { status: ['running', 'paused'] }, abortSignal: signal }),
    inspect: (id, signal) => docker.getContainer(id).inspect({ abortSignal: signal }),
    events: (signal) =>
      (docker.getEvents as unknown as WithSignal<Readable>).call(docker, {
        filters: { type: ['container'] },
        abortSignal: signal,
      }),
    oneShotStats: (id, signal) => {
      const container = docker.getContainer(id);
      return (container.stats as unknown as WithSignal<DockerStatsAnswer>).call(container, {
        stream: false,
        'one-shot': true,
        abortSignal: signal,
      });
    },
  };
}
