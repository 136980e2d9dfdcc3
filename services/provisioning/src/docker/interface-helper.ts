import { interfaceHelperOptions } from './container-spec';
import type { Daemon } from './daemon';
import { DockerCallError } from './deadline';
import { disconnect } from './networks';
import { demultiplex } from './streams';

/**
 * Names the container's interface with MAC `mac` `name` (Docker numbers interfaces by its own
 * counter, so a reconnected one is eth2, eth3…) and, given `cidr` (a.b.c.d/len), makes that its
 * one address, from inside the container's namespace: a short-lived helper container shares the
 * namespace and holds NET_ADMIN itself, so the user's container never gets that capability.
 * Docker's record of the endpoint keeps the address it gave; the platform's records say which one
 * the interface has.
 */
export async function configureInterface(
  d: Daemon,
  dockerId: string,
  mac: string,
  want: { name: string; cidr?: string },
  helperImage: string,
): Promise<void> {
  await runHelper(
    d,
    dockerId,
    helperImage,
    'configure interface',
    { MAC: mac, NAME: want.name, ADDR: want.cidr ?? '' },
    [
      '[ -n "$dev" ] || { echo "no interface with MAC $MAC" >&2; exit 3; }',
      'if [ "$dev" != "$NAME" ]; then ip link set dev "$dev" down; ip link set dev "$dev" name "$NAME"; fi',
      'if [ -n "$ADDR" ]; then ip addr flush dev "$NAME"; ip addr add "$ADDR" dev "$NAME"; fi',
      'ip link set dev "$NAME" up',
    ],
  );
}

/**
 * Disconnects the container's endpoint with MAC `mac` from `network`. Docker removes the
 * interface by the name it gave, so one the platform renamed is left behind: it is deleted here.
 */
export async function detachInterface(
  d: Daemon,
  network: string,
  dockerId: string,
  mac: string,
  helperImage: string,
): Promise<void> {
  await disconnect(d, network, dockerId);
  await runHelper(d, dockerId, helperImage, 'remove interface', { MAC: mac }, [
    'if [ -n "$dev" ]; then ip link del dev "$dev"; fi',
  ]);
}

/** Runs `lines` in a helper container in the container's network namespace, and removes it. */
async function runHelper(
  d: Daemon,
  dockerId: string,
  helperImage: string,
  what: string,
  env: Record<string, string>,
  lines: string[],
): Promise<void> {
  const helper = await d.call(`create helper (${what})`, () =>
    d.docker.createContainer(interfaceHelperOptions(dockerId, helperImage, env, lines)),
  );
  try {
    await d.call(`start helper (${what})`, () => helper.start());
    const { StatusCode } = (await d.call(`wait for helper (${what})`, () => helper.wait())) as {
      StatusCode: number;
    };
    if (StatusCode !== 0) {
      const out = demultiplex((await helper.logs({ stdout: true, stderr: true })) as unknown as Buffer);
      throw new DockerCallError(
        d.node,
        what,
        `exit ${StatusCode}: ${out.toString('utf8').trim()}`,
        undefined,
      );
    }
  } finally {
    await helper.remove({ force: true }).catch(() => undefined);
  }
}
