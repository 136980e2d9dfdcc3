/**
 * The body of `POST /v1/containers` as a client sends it: provisioning's request shape, without
 * dependencies, so the portal's browser code imports it as is.
 */
export interface ContainerRequest {
  node: string;
  name: string;
  image: string;
  ip?: string;
  cpuMillis?: number;
  memoryBytes?: number;
  sshPublicKeys?: string[];
  secondary?: { pool?: string; network?: string };
  env?: Record<string, string>;
  command?: string[];
}

/** The same once the schema has applied its defaults (no keys is an empty list). */
export type ContainerInput = ContainerRequest & { sshPublicKeys: string[] };
