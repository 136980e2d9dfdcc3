/** What the update check compares: a node's registry digests of an image against the registry's. */

/** The repository of a reference: without its tag or digest (`host:5000/a/b:tag` → `host:5000/a/b`). */
export function repositoryOf(ref: string): string {
  const at = ref.indexOf('@');
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

/** The digests among `repoDigests` that belong to the repository of `ref`. */
export function digestsFor(ref: string, repoDigests: string[]): string[] {
  const repo = repositoryOf(ref);
  return repoDigests
    .filter((rd) => rd.slice(0, rd.indexOf('@')) === repo)
    .map((rd) => rd.slice(rd.indexOf('@') + 1));
}

export type UpdateStatus = 'up-to-date' | 'outdated' | 'unknown';

/**
 * Compares what the node has for `ref` with the registry's digest. An image without a registry
 * digest for its repository (imported or built on the node, never pulled or pushed) cannot be
 * compared: `unknown`, never a guess.
 */
export function compareDigests(
  ref: string,
  repoDigests: string[],
  remote: string | null,
): { status: UpdateStatus; currentDigest: string | null } {
  const local = digestsFor(ref, repoDigests);
  if (local.length === 0 || remote === null) return { status: 'unknown', currentDigest: local[0] ?? null };
  if (local.includes(remote)) return { status: 'up-to-date', currentDigest: remote };
  return { status: 'outdated', currentDigest: local[0]! };
}
