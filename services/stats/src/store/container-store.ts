import type { Tx } from '@testbed/kit';
import type {
  ContainerRemovedEvent,
  ContainerStartedEvent,
} from '@testbed/provisioning/src/events/contracts';

/**
 * stats' projection of provisioning's containers (owner, node, name, Docker id), written in the
 * bus handler's transaction so that the event and its effect commit together. A container with
 * a Docker id also names its series, so samples and owner meet however the two arrive.
 */
export async function recordContainerStarted(tx: Tx, e: ContainerStartedEvent, at: Date): Promise<void> {
  await tx.$executeRawUnsafe(
    `INSERT INTO stats.container (id, node, name, owner, docker_id, cpu_millis, memory_bytes, started_at)
     VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (id) DO UPDATE SET node = excluded.node, name = excluded.name, owner = excluded.owner,
       docker_id = COALESCE(excluded.docker_id, stats.container.docker_id),
       cpu_millis = excluded.cpu_millis, memory_bytes = excluded.memory_bytes,
       started_at = excluded.started_at, removed_at = NULL, updated_at = now()`,
    e.containerId,
    e.node,
    e.name,
    e.owner,
    e.dockerId ?? null,
    e.cpuMillis,
    e.memoryBytes,
    at,
  );
  if (e.dockerId) {
    await tx.$executeRawUnsafe(
      `INSERT INTO stats.series (node, ref, docker_id, name, platform_id) VALUES ($1, $2, $3, $4, $5::uuid)
       ON CONFLICT (node, ref) DO UPDATE SET docker_id = excluded.docker_id,
         platform_id = excluded.platform_id, updated_at = now()`,
      e.node,
      e.dockerId.slice(0, 12),
      e.dockerId,
      e.name,
      e.containerId,
    );
  }
}

export async function recordContainerRemoved(tx: Tx, e: ContainerRemovedEvent, at: Date): Promise<void> {
  await tx.$executeRawUnsafe(
    `INSERT INTO stats.container (id, node, name, owner, removed_at) VALUES ($1::uuid, $2, '', $3, $4)
     ON CONFLICT (id) DO UPDATE SET removed_at = excluded.removed_at, updated_at = now()`,
    e.containerId,
    e.node,
    e.owner,
    at,
  );
}

/** Who owns a platform container, for the history API; undefined when stats never heard of it. */
export interface ContainerOwner {
  id: string;
  node: string;
  name: string;
  owner: string;
}
