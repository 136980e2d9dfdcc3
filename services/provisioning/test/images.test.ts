/**
 * Images per node against the rig: the local registry (deploy/local: 127.0.0.1:5000, plain HTTP)
 * and the TLS daemons node1..node3. Images are pushed through node1's daemon, pulled through the
 * API onto node2 and node3; the update check compares digests through the daemons. No container
 * gets an address here.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { startTestHost, type TestHost } from '@testbed/test-support/test-host';
import { rigEnv } from '@testbed/test-support/rig';
import { eventually } from '@testbed/test-support/wait';
import { rigEndpoint, testPlatform } from '@testbed/test-support/fixtures/provisioning';
import { createProvisioningService, defaultProvisioningConfig } from '../src';
import { NodeDocker } from '../src/docker/node-docker';
import { inspectImage } from '../src/docker/node-images';
import { followProgress } from '../src/docker/streams';
import { buildTar } from '../src/docker/tar';

jest.setTimeout(120_000);

const platform = testPlatform();
const registry = rigEnv('TESTBED_REGISTRY').TESTBED_REGISTRY as string;
const repo = `${registry}/testbed-test/${platform}`;
const ref = `${repo}:latest`;
const missing = `${registry}/testbed-test/${platform}-missing:latest`;
const nodes = ['node1', 'node2', 'node3'];
const dockers = Object.fromEntries(nodes.map((n) => [n, new NodeDocker(rigEndpoint(n), 20_000)])) as Record<
  string,
  NodeDocker
>;
const pushed: string[] = []; // manifest digests in the registry, removed afterwards
let host: TestHost;

const op = (path: string, init?: RequestInit) => host.call('operator', 'operator', path, init);
const alice = (path: string, init?: RequestInit) => host.call('alice', 'user', path, init);
const post = (body: unknown, wait?: number): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  ...(wait ? { headers: { prefer: `wait=${wait}` } } : {}),
});

interface Operation {
  id: string;
  kind: string;
  state: string;
  owner: string;
  result: Record<string, unknown> | null;
  error: { type: string; detail: string } | null;
}
interface ImageUpdate {
  image: string;
  id: string;
  currentDigest: string | null;
  remoteDigest: string | null;
  status: string;
  updated: boolean;
  newId?: string;
  detail?: string;
}

/** Pushes `repo:latest` from node1 to the rig's registry (through the daemon, as `docker push`). */
async function push(): Promise<string> {
  const d = dockers.node1!;
  const stream = (await d.docker
    .getImage(repo)
    .push({ tag: 'latest', authconfig: { serveraddress: registry } })) as unknown as Readable;
  await followProgress(stream, 'node1', `push ${ref}`);
  const image = await inspectImage(d, ref);
  const digest = image!.repoDigests.find((r) => r.startsWith(`${repo}@`))!.split('@')[1]!;
  pushed.push(digest);
  return digest;
}

/** A new image under `repo:latest` on node1: testbed/busybox plus one file (committed, never started). */
async function commitChangedImage(): Promise<string> {
  const d = dockers.node1!.docker;
  const c = await d.createContainer({
    Image: 'testbed/busybox',
    Cmd: ['true'],
    HostConfig: { NetworkMode: 'none' },
  });
  try {
    await c.putArchive(
      buildTar([{ path: 'testbed-version', content: Buffer.from(`${platform} v2\n`), mode: 0o644 }]),
      {
        path: '/',
      },
    );
    const { Id } = (await c.commit({ repo, tag: 'latest' })) as { Id: string };
    return Id;
  } finally {
    await c.remove({ force: true });
  }
}

async function imageId(node: string, name: string): Promise<string | undefined> {
  return (await inspectImage(dockers[node]!, name))?.id;
}

/** A check passes; images of other test files on the shared node may fail theirs, never this file's. */
function expectCheckPassed(body: Operation): void {
  if (body.state === 'succeeded') return expect(body.error).toBeNull();
  expect(body.state).toBe('partially_succeeded');
  expect(body.error?.detail).not.toContain(ref);
}

async function checkUpdates(node: string, dryRun: boolean) {
  const res = await op(`/v1/nodes/${node}/images/check-updates`, post({ dryRun }, 60));
  const body = (await res.json()) as Operation;
  const images = (body.result?.images ?? []) as ImageUpdate[];
  return { res, body, images, mine: images.find((i) => i.image === ref) };
}

beforeAll(async () => {
  host = await startTestHost({
    name: 'provisioning-images',
    database: 'pglite',
    bus: 'in-process',
    modules: (deps) => [
      createProvisioningService({
        ...deps,
        source: 'provisioning',
        config: {
          ...defaultProvisioningConfig,
          PROVISIONING_PLATFORM_ID: platform,
          PROVISIONING_RESUME_INTERVAL_MS: 300,
          PROVISIONING_CLAIM_STALE_MS: 1500,
        },
      }),
    ],
  });
  for (const n of nodes) {
    const e = rigEndpoint(n);
    const res = await op('/v1/nodes', {
      method: 'POST',
      body: JSON.stringify({ name: n, dockerHost: e.dockerHost, tls: e.tls, macvlanParent: e.macvlanParent }),
    });
    expect(res.status).toBe(201);
  }
  await dockers.node1!.docker.getImage('testbed/busybox').tag({ repo, tag: 'latest' });
  await push();
});

afterAll(async () => {
  await host?.stop();
  // Every tag and digest reference of this file's repository on the nodes (images only they held go too).
  for (const d of Object.values(dockers)) {
    for (const image of await d.listImages()) {
      const refs = [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].filter(
        (r) => r.startsWith(`${repo}:`) || r.startsWith(`${repo}@`),
      );
      for (const r of refs)
        await d.docker
          .getImage(r)
          .remove()
          .catch(() => undefined);
    }
  }
  for (const digest of pushed)
    await fetch(`http://${registry}/v2/testbed-test/${platform}/manifests/${digest}`, {
      method: 'DELETE',
      signal: AbortSignal.timeout(10_000),
    }).catch(() => undefined);
});

test('a user pulls an image onto a node: 202 with Location, then the operation succeeds with the image id', async () => {
  const res = await alice('/v1/nodes/node2/images/pull', post({ image: ref }));
  expect(res.status).toBe(202);
  const started = (await res.json()) as Operation;
  expect(res.headers.get('location')).toBe(`/v1/operations/${started.id}`);
  expect(started).toMatchObject({ kind: 'image.pull', state: 'running', owner: 'alice' });

  const done = (await (
    await alice(`/v1/operations/${started.id}`, { headers: { prefer: 'wait=60' } })
  ).json()) as Operation;
  expect(done.error).toBeNull();
  expect(done.state).toBe('succeeded');
  const busybox = await imageId('node1', 'testbed/busybox');
  expect(done.result).toMatchObject({ node: 'node2', image: ref, id: busybox, digests: [pushed[0]] });
  expect(await imageId('node2', ref)).toBe(busybox);

  const listed = (await (await alice('/v1/nodes/node2/images')).json()) as {
    items: { id: string; tags: string[]; digests: string[] }[];
  };
  const item = listed.items.find((i) => i.tags.includes(ref));
  expect(item?.digests).toContain(`${repo}@${pushed[0]}`);
});

test('Prefer: wait answers the finished pull at once (201), and the same Idempotency-Key gives the same operation', async () => {
  const init = post({ image: ref }, 60);
  init.headers = { ...(init.headers as Record<string, string>), 'idempotency-key': `pull-${platform}` };
  const first = await alice('/v1/nodes/node3/images/pull', init);
  const body = (await first.json()) as Operation;
  expect(first.status).toBe(201);
  expect(body.state).toBe('succeeded');
  const again = (await (await alice('/v1/nodes/node3/images/pull', init)).json()) as Operation;
  expect(again.id).toBe(body.id);
});

test('the update check finds the newer image under the same tag; a dry run changes nothing, a real run pulls it', async () => {
  const before = await imageId('node2', ref);
  expect(before).toBeDefined();
  const newId = await commitChangedImage();
  expect(newId).not.toBe(before);
  const newDigest = await push();
  expect(newDigest).not.toBe(pushed[0]);

  // A dry run: outdated, nothing pulled; images never pulled (imported) are reported, not guessed.
  const dry = await checkUpdates('node2', true);
  expect(dry.body.kind).toBe('image.check-updates');
  expectCheckPassed(dry.body);
  expect(dry.mine).toMatchObject({
    id: before,
    currentDigest: pushed[0],
    remoteDigest: newDigest,
    status: 'outdated',
    updated: false,
  });
  expect(dry.images.find((i) => i.image === 'testbed/busybox:latest')).toMatchObject({
    status: 'unknown',
    currentDigest: null,
    remoteDigest: null,
    detail: expect.stringContaining('never pulled'),
  });
  expect(await imageId('node2', ref)).toBe(before);

  // Users may look but not pull for everyone.
  expect((await alice('/v1/nodes/node2/images/check-updates', post({ dryRun: true }, 60))).status).toBe(201);
  expect((await alice('/v1/nodes/node2/images/check-updates', post({ dryRun: false }))).status).toBe(403);

  const real = await checkUpdates('node2', false);
  expectCheckPassed(real.body);
  expect(real.mine).toMatchObject({ status: 'outdated', updated: true, newId, remoteDigest: newDigest });
  expect(await imageId('node2', ref)).toBe(newId);

  const after = await checkUpdates('node2', true);
  expect(after.mine).toMatchObject({ status: 'up-to-date', currentDigest: newDigest, updated: false });
});

test('pulling an image the registry does not have fails the operation with the daemon’s message', async () => {
  const res = await alice('/v1/nodes/node2/images/pull', post({ image: missing }, 60));
  const body = (await res.json()) as Operation;
  expect(res.status).toBe(200);
  expect(body.state).toBe('failed');
  expect(body.error).toMatchObject({
    type: 'image-not-found',
    detail: expect.stringMatching(new RegExp(`manifest for ${missing.replace(/\./g, '\\.')} not found`)),
  });
  expect(body.error?.detail).not.toMatch(/HTTP code/);
  expect(await imageId('node2', missing)).toBeUndefined();
});

test('bad input: 422 naming the field; an unknown node is 404', async () => {
  const problems = async (res: Response) => {
    expect(res.status).toBe(422);
    return ((await res.json()) as { errors: { path: string }[] }).errors.map((e) => e.path);
  };
  expect(await problems(await alice('/v1/nodes/node2/images/pull', post({})))).toContain('body.image');
  expect(
    await problems(await alice('/v1/nodes/node2/images/pull', post({ image: 'Not An Image!' }))),
  ).toContain('body.image');
  expect(await problems(await op('/v1/nodes/node2/images/check-updates', post({ dryRun: 'yes' })))).toContain(
    'body.dryRun',
  );
  expect(await problems(await op('/v1/nodes/node2/images/check-updates', post({})))).toContain('body.dryRun');
  expect((await alice('/v1/nodes/nowhere/images/pull', post({ image: ref }))).status).toBe(404);
});

test('an image operation whose worker died is run again; one past its window fails', async () => {
  const now = Date.now();
  const dead = { claimedBy: 'provisioning-dead-worker', owner: 'alice', saga: {}, items: [] };
  const [resumed, lost] = ['resumed', 'lost'].map(() => randomUUID());
  await host.db.prisma.$transaction(async (tx) => {
    await tx.operation.create({
      data: {
        ...dead,
        id: resumed!,
        kind: 'image.pull',
        state: 'running',
        request: { node: 'node3', image: ref },
        claimedAt: new Date(now - 60_000),
        createdAt: new Date(now - 60_000),
      },
    });
    await tx.operation.create({
      data: {
        ...dead,
        id: lost!,
        kind: 'image.check-updates',
        state: 'running',
        request: { node: 'node3', dryRun: true },
        claimedAt: new Date(now - 2 * 3600_000),
        createdAt: new Date(now - 2 * 3600_000),
      },
    });
  });
  const finished = (id: string) =>
    eventually(
      async () => {
        const o = (await (await alice(`/v1/operations/${id}`)).json()) as Operation;
        return o.state !== 'running' ? o : undefined;
      },
      60_000,
      `operation ${id} to end`,
    );
  const r = await finished(resumed!);
  expect(r.error).toBeNull();
  expect(r).toMatchObject({ state: 'succeeded', result: { node: 'node3', id: await imageId('node1', ref) } });
  expect(await imageId('node3', ref)).toBe(await imageId('node1', ref));
  const l = await finished(lost!);
  expect(l).toMatchObject({ state: 'failed', error: { type: 'worker-lost' } });
});
