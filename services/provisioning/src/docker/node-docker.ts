import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { Daemon } from './daemon';
import { LABELS, type ContainerSpec, type NetworkSpec } from './container-spec';
import * as lifecycle from './container-lifecycle';
import * as networks from './networks';
import * as helper from './interface-helper';
import { listImages } from './node-images';
import { readContainerEvents, type DockerEvent } from './streams';

export { LABELS, SSHD_CAPABILITIES, DEFAULT_COMMAND, type ContainerSpec } from './container-spec';
export type { OwnedContainer } from './container-lifecycle';
export type { NetworkSpec } from './container-spec';
export type { DockerEvent } from './streams';

/**
 * The node client: the one narrow way the platform talks to a node's Docker daemon. Its parts
 * live in their own modules (container lifecycle, networks, the interface helper, the streams'
 * readers, images); this is the face they show, one node at a time.
 */
export class NodeDocker extends Daemon {
  /** Ping, then the daemon's version and its machine's CPUs and memory. */
  async health(): Promise<{ version: string; apiVersion: string; cpus: number; memoryBytes: number }> {
    const ms = Math.min(this.timeoutMs, 5000);
    await this.call('ping', () => this.docker.ping(), ms);
    const v = await this.call('version', () => this.docker.version(), ms);
    const info = (await this.call('info', () => this.docker.info(), ms)) as {
      NCPU?: number;
      MemTotal?: number;
    };
    return {
      version: v.Version,
      apiVersion: v.ApiVersion,
      cpus: info.NCPU ?? 0,
      memoryBytes: info.MemTotal ?? 0,
    };
  }

  ensureNetwork = (spec: NetworkSpec) => networks.ensureNetwork(this, spec);
  removeNetwork = (name: string) => networks.removeNetwork(this, name);
  connect = (network: string, dockerId: string, ip: string) => networks.connect(this, network, dockerId, ip);
  disconnect = (network: string, dockerId: string) => networks.disconnect(this, network, dockerId);
  endpointOn = (dockerId: string, network: string) => networks.endpointOn(this, dockerId, network);

  createAndStart = (spec: ContainerSpec) => lifecycle.createAndStart(this, spec);
  createAndStartOnly = (spec: ContainerSpec) => lifecycle.createAndStartOnly(this, spec);
  macsOfOperation = (operationId: string, network: string) =>
    lifecycle.macsOfOperation(this, operationId, network);
  inspect = (dockerId: string) => lifecycle.inspectContainer(this, dockerId);
  start = (dockerId: string) => lifecycle.startContainer(this, dockerId);
  stop = (dockerId: string, graceSeconds?: number) => lifecycle.stopContainer(this, dockerId, graceSeconds);
  restart = (dockerId: string, graceSeconds?: number) =>
    lifecycle.restartContainer(this, dockerId, graceSeconds);
  remove = (dockerId: string, force: boolean) => lifecycle.removeContainer(this, dockerId, force);
  update = (dockerId: string, limits: { cpuMillis?: number; memoryBytes?: number }) =>
    lifecycle.updateContainer(this, dockerId, limits);
  listOwned = (platform: string) => lifecycle.listOwned(this, platform);
  listOfOperation = (operationId: string) => lifecycle.listOfOperation(this, operationId);
  listAll = (): Promise<Docker.ContainerInfo[]> => lifecycle.listAll(this);
  logs = (dockerId: string, opts: { tail?: number; since?: number }) =>
    lifecycle.containerLogs(this, dockerId, opts);
  getArchive = (dockerId: string, path: string): Promise<Readable> =>
    lifecycle.getArchive(this, dockerId, path);
  putArchive = (dockerId: string, path: string, tar: Buffer) =>
    lifecycle.putArchive(this, dockerId, path, tar);
  exec = (dockerId: string, cmd: string[], ms?: number) => lifecycle.execIn(this, dockerId, cmd, ms);
  listImages = () => listImages(this);

  configureInterface = (
    dockerId: string,
    mac: string,
    want: { name: string; cidr?: string },
    image: string,
  ) => helper.configureInterface(this, dockerId, mac, want, image);
  detachInterface = (network: string, dockerId: string, mac: string, image: string) =>
    helper.detachInterface(this, network, dockerId, mac, image);

  /** Docker's /events stream of the platform's containers; the returned function closes it. */
  async watchEvents(
    platform: string,
    onEvent: (e: DockerEvent) => void,
    onEnd: (err?: Error) => void,
  ): Promise<() => void> {
    const client = this.streamClient();
    const stream = (await this.call('events', () =>
      client.getEvents({ filters: { type: ['container'], label: [`${LABELS.platform}=${platform}`] } }),
    )) as unknown as Readable;
    return readContainerEvents(stream, LABELS.containerId, onEvent, onEnd);
  }
}
