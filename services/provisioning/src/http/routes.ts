import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  actsForOthers,
  decodeCursor,
  defineRoute,
  ForbiddenError,
  InvalidError,
  NotFoundError,
  pageOf,
  type Principal,
  type RouteSpec,
} from '@testbed/kit';
import {
  batchBody,
  containerAnswer,
  containerBody,
  containersQuery,
  deleteQuery,
  filesQuery,
  idParams,
  limitsPatch,
  logsQuery,
  nodeAnswer,
  nodeBody,
  nodeParams,
  nodePatch,
  operationAnswer,
  operationsQuery,
} from './schemas';
import { placeBatch } from '../domain/placement';
import { allNodes, changeNode, getNode, registerNode, removeNode } from '../use-cases/nodes';
import { startProvisioning, type ProvisionRequest } from '../use-cases/saga';
import {
  cancelOperation,
  operationFor,
  operationView,
  parsePreferWait,
  waitForOperation,
} from '../use-cases/operations';
import {
  containerFor,
  containerLogs,
  downloadFiles,
  removeContainer,
  restartContainer,
  startContainer,
  stopContainer,
  uploadFiles,
} from '../use-cases/containers';
import { listContainers, containersOfOperation, type ContainerRecord } from '../store/container-store';
import { listOperations, type OperationRecord } from '../store/operation-store';
import { useByNode, type NodeRecord } from '../store/node-store';
import type { ProvisioningContext } from '../use-cases/context';
import { answerOperation, operationProblem } from './answer-operation';
import { checkSecondary } from '../use-cases/interfaces';
import { startLimitsChange } from '../use-cases/limits';

export function nodeView(
  n: NodeRecord,
  use: { containers: number; cpuMillis: number; memoryBytes: number } = {
    containers: 0,
    cpuMillis: 0,
    memoryBytes: 0,
  },
): z.infer<typeof nodeAnswer> {
  return {
    name: n.name,
    dockerHost: n.dockerHost,
    // TLS material is only ever named, never shown.
    tls: n.tlsSecretRef || n.tlsCaPath ? { secretRef: n.tlsSecretRef, files: Boolean(n.tlsCaPath) } : null,
    insecure: n.insecure,
    macvlanParent: n.macvlanParent,
    experimentPool: n.experimentPool,
    secondaryPool: n.secondaryPool,
    labels: (n.labels ?? {}) as Record<string, string>,
    schedulable: n.schedulable,
    health: {
      state: n.healthState,
      lastSeenAt: n.lastSeenAt?.toISOString() ?? null,
      dockerVersion: n.dockerVersion,
      error: n.healthError,
    },
    network: n.networkName,
    // What the daemon's machine has (unknown until the first health check) and what the
    // platform's containers on it were given.
    capacity:
      n.cpuCount !== null && n.memoryBytes !== null
        ? { cpuMillis: n.cpuCount * 1000, memoryBytes: Number(n.memoryBytes) }
        : null,
    use,
  };
}

export function containerView(c: ContainerRecord): z.infer<typeof containerAnswer> {
  return {
    id: c.id,
    name: c.name,
    node: c.node,
    owner: c.owner,
    image: c.image,
    state: c.state,
    interfaces: [
      { name: 'eth0', pool: c.pool, ip: c.ip, mac: c.mac },
      ...(c.secondaryIp && c.secondaryPool
        ? [{ name: 'eth1', pool: c.secondaryPool, ip: c.secondaryIp, mac: null }]
        : []),
    ],
    cpuMillis: c.cpuMillis,
    memoryBytes: Number(c.memoryBytes),
    createdAt: c.createdAt.toISOString(),
    startedAt: c.startedAt?.toISOString() ?? null,
    sshCommand: `ssh root@${c.ip}`,
  };
}

const ownerOf = (p: Principal, asked?: string) => (actsForOthers(p) ? (asked ?? undefined) : p.subject);

export function provisioningRoutes(ctx: ProvisioningContext): RouteSpec[] {
  const cfg = ctx.config;

  const answer = (op: OperationRecord, prefer: string | undefined) => answerOperation(ctx, op, prefer);

  const idem = (p: Principal, key: string | undefined) => (key ? `${p.subject}:${key}` : undefined);

  return [
    // ---- nodes
    defineRoute({
      method: 'get',
      path: '/v1/nodes',
      summary: 'Testbed nodes with their health',
      tags: ['nodes'],
      responses: {
        200: { description: 'nodes', schema: z.object({ items: z.array(nodeAnswer), nextCursor: z.null() }) },
      },
      handler: async () => {
        const [nodes, use] = await Promise.all([allNodes(ctx), ctx.db.prisma.$transaction(useByNode)]);
        return {
          status: 200,
          body: { items: nodes.map((n) => nodeView(n, use.get(n.name))), nextCursor: null },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/nodes',
      summary: 'Register a node',
      tags: ['nodes'],
      roles: ['operator'],
      body: nodeBody,
      responses: { 201: { description: 'the node', schema: nodeAnswer } },
      handler: async ({ body }) => {
        const node = await registerNode(ctx, { ...body, macvlanParent: body.macvlanParent ?? null });
        return { status: 201, body: nodeView(node), headers: { Location: `/v1/nodes/${node.name}` } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/nodes/:node',
      summary: 'One node',
      tags: ['nodes'],
      params: nodeParams,
      responses: { 200: { description: 'the node', schema: nodeAnswer } },
      handler: async ({ params }) => {
        const [node, use] = await Promise.all([
          getNode(ctx, params.node),
          ctx.db.prisma.$transaction(useByNode),
        ]);
        return { status: 200, body: nodeView(node, use.get(node.name)) };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/v1/nodes/:node',
      summary: 'Change a node’s schedulable flag or labels',
      tags: ['nodes'],
      roles: ['operator'],
      params: nodeParams,
      body: nodePatch,
      responses: { 200: { description: 'the node', schema: nodeAnswer } },
      handler: async ({ params, body }) => ({
        status: 200,
        body: nodeView(await changeNode(ctx, params.node, body)),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/nodes/:node',
      summary: 'Remove a node without containers',
      tags: ['nodes'],
      roles: ['operator'],
      params: nodeParams,
      responses: { 204: { description: 'removed' } },
      handler: async ({ params }) => {
        await removeNode(ctx, params.node);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/nodes/:node/containers',
      summary: 'Every container on the node, running and stopped, with owner',
      tags: ['nodes'],
      params: nodeParams,
      responses: { 200: { description: 'containers on the daemon' } },
      handler: async ({ params, principal }) => {
        const node = await getNode(ctx, params.node);
        const all = await ctx.dockers.for(node).listAll();
        const items = all
          .map((c) => ({
            dockerId: c.Id,
            name: (c.Names[0] ?? '').replace(/^\//, ''),
            image: c.Image,
            state: c.State,
            status: c.Status,
            owner: c.Labels['testbed.owner'] ?? null,
            containerId: c.Labels['testbed.container-id'] ?? null,
          }))
          .filter((c) => actsForOthers(principal) || c.owner === principal.subject);
        return { status: 200, body: { items, nextCursor: null } };
      },
    }),

    // ---- containers
    defineRoute({
      method: 'post',
      path: '/v1/containers',
      summary: 'Create and run a container (an operation)',
      tags: ['containers'],
      body: containerBody,
      responses: {
        202: { description: 'the operation', schema: operationAnswer },
        201: { description: 'finished', schema: operationAnswer },
      },
      handler: async ({ body, principal, req }) => {
        if (body.secondary) await checkSecondary(ctx, body.node, body.secondary);
        const req_: ProvisionRequest = {
          kind: 'container.create',
          owner: principal.subject,
          request: body,
          plan: [{ name: body.name, node: body.node }],
          ...(body.ip ? { ip: body.ip } : {}),
          spec: {
            image: body.image,
            cpuMillis: body.cpuMillis ?? cfg.PROVISIONING_DEFAULT_CPU_MILLIS,
            memoryBytes: body.memoryBytes ?? cfg.PROVISIONING_DEFAULT_MEMORY_BYTES,
            pidsLimit: cfg.PROVISIONING_DEFAULT_PIDS_LIMIT,
            sshPublicKeys: body.sshPublicKeys,
            ...(body.env ? { env: body.env } : {}),
            ...(body.command ? { command: body.command } : {}),
            ...(body.secondary ? { secondary: body.secondary } : {}),
          },
          idempotencyKey: idem(principal, req.header('idempotency-key')),
        };
        return answer(await startProvisioning(ctx, req_), req.header('prefer'));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/containers',
      summary: 'Containers',
      tags: ['containers'],
      query: containersQuery,
      responses: {
        200: {
          description: 'a page of containers',
          schema: z.object({ items: z.array(containerAnswer), nextCursor: z.string().nullable() }),
        },
      },
      handler: async ({ query, principal }) => {
        const after = decodeCursor(query.cursor, z.string());
        const rows = await ctx.db.prisma.$transaction((tx) =>
          listContainers(
            tx,
            {
              node: query.node,
              owner: ownerOf(principal, query.owner),
              state: query.state,
              name: query.name,
              afterId: after,
            },
            query.limit + 1,
          ),
        );
        const page = pageOf(rows, query.limit, (c) => c.id);
        return { status: 200, body: { items: page.items.map(containerView), nextCursor: page.nextCursor } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/containers/:id',
      summary: 'One container',
      tags: ['containers'],
      params: idParams,
      responses: { 200: { description: 'the container', schema: containerAnswer } },
      handler: async ({ params, principal }) => ({
        status: 200,
        body: containerView(await containerFor(ctx, params.id, principal)),
      }),
    }),
    ...(['start', 'stop', 'restart'] as const).map((action) =>
      defineRoute({
        method: 'post',
        path: `/v1/containers/:id/${action}`,
        summary: `${action} a container`,
        tags: ['containers'],
        params: idParams,
        responses: { 200: { description: 'the container', schema: containerAnswer } },
        handler: async ({ params, principal }) => {
          const c = await containerFor(ctx, params.id, principal);
          const fn =
            action === 'start' ? startContainer : action === 'stop' ? stopContainer : restartContainer;
          return { status: 200, body: containerView(await fn(ctx, c)) };
        },
      }),
    ),
    defineRoute({
      method: 'patch',
      path: '/v1/containers/:id',
      summary: 'Change CPU and memory limits live, within the user’s quota',
      tags: ['containers'],
      params: idParams,
      body: limitsPatch,
      responses: { 200: { description: 'the container', schema: containerAnswer } },
      handler: async ({ params, body, principal, req }) => {
        const c = await containerFor(ctx, params.id, principal);
        const op = await startLimitsChange(ctx, c, body);
        const done = await waitForOperation(ctx, op.id, parsePreferWait(req.header('prefer')) ?? 30);
        if (done.state === 'succeeded')
          return { status: 200, body: containerView(await containerFor(ctx, params.id, principal)) };
        if (done.state === 'failed') throw operationProblem(done);
        return answer(done, undefined);
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/containers/:id',
      summary: 'Remove a container and release its addresses',
      tags: ['containers'],
      params: idParams,
      query: deleteQuery,
      responses: { 204: { description: 'removed' } },
      handler: async ({ params, query, principal }) => {
        await removeContainer(ctx, await containerFor(ctx, params.id, principal), query.force === 'true');
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/containers/:id/logs',
      summary: 'Container logs',
      tags: ['containers'],
      params: idParams,
      query: logsQuery,
      responses: { 200: { description: 'log text', contentType: 'text/plain' } },
      handler: async ({ params, query, principal, res }) => {
        const logs = await containerLogs(ctx, await containerFor(ctx, params.id, principal), query);
        res.status(200).type('text/plain').send(logs);
        return { streamed: true };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/containers/:id/files',
      summary: 'Download a file or folder as tar',
      tags: ['containers'],
      params: idParams,
      query: filesQuery,
      responses: { 200: { description: 'tar', contentType: 'application/x-tar' } },
      handler: async ({ params, query, principal, res }) => {
        const stream = await downloadFiles(ctx, await containerFor(ctx, params.id, principal), query.path);
        res.status(200).type('application/x-tar');
        await new Promise<void>((resolve, reject) => {
          stream.on('error', reject);
          res.on('finish', () => resolve());
          stream.pipe(res);
        });
        return { streamed: true };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/v1/containers/:id/files',
      summary: 'Upload a tar into a folder',
      tags: ['containers'],
      params: idParams,
      query: filesQuery,
      rawBody: { contentType: 'application/x-tar' },
      responses: { 204: { description: 'unpacked' } },
      handler: async ({ params, query, principal, req }) => {
        const body = req.body as unknown;
        if (!Buffer.isBuffer(body) || body.length === 0)
          throw InvalidError.field('body', 'a tar archive is required');
        await uploadFiles(ctx, await containerFor(ctx, params.id, principal), query.path, body);
        return { status: 204 };
      },
    }),

    // ---- batches
    defineRoute({
      method: 'post',
      path: '/v1/batches',
      summary: 'Create and run N containers over one or more nodes',
      tags: ['batches'],
      body: batchBody,
      responses: { 202: { description: 'the operation', schema: operationAnswer } },
      handler: async ({ body, principal, req }) => {
        let plan;
        try {
          plan = placeBatch(
            body.namePrefix,
            body.count,
            [...new Set(body.nodes)],
            body.placement,
            cfg.PROVISIONING_PACK_PER_NODE,
          );
        } catch (err) {
          throw InvalidError.field('body.count', (err as Error).message);
        }
        const batchId = randomUUID();
        const op = await startProvisioning(ctx, {
          kind: 'batch.create',
          owner: principal.subject,
          request: { ...body, batchId },
          plan,
          ...(body.baseIp ? { start: body.baseIp } : {}),
          spec: {
            image: body.image,
            cpuMillis: body.cpuMillis ?? cfg.PROVISIONING_DEFAULT_CPU_MILLIS,
            memoryBytes: body.memoryBytes ?? cfg.PROVISIONING_DEFAULT_MEMORY_BYTES,
            pidsLimit: cfg.PROVISIONING_DEFAULT_PIDS_LIMIT,
            sshPublicKeys: body.sshPublicKeys,
            ...(body.command ? { command: body.command } : {}),
          },
          idempotencyKey: idem(principal, req.header('idempotency-key')),
          alsoWrite: async (tx, operationId) => {
            await tx.batch.create({
              data: {
                id: batchId,
                operationId,
                owner: principal.subject,
                namePrefix: body.namePrefix,
                count: body.count,
                nodes: body.nodes,
                placement: body.placement,
              },
            });
          },
        });
        return answer(op, req.header('prefer'));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/batches/:id',
      summary: 'A batch and its items',
      tags: ['batches'],
      params: idParams,
      responses: { 200: { description: 'the batch' } },
      handler: async ({ params, principal }) => {
        const batch = await ctx.db.prisma.$transaction((tx) =>
          tx.batch.findUnique({ where: { id: params.id } }),
        );
        if (!batch) throw new NotFoundError('batch', params.id);
        const op = await operationFor(ctx, batch.operationId, principal);
        return {
          status: 200,
          body: {
            ...batch,
            createdAt: batch.createdAt.toISOString(),
            operation: await operationView(ctx, op),
          },
        };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/batches/:id',
      summary: 'Remove every container of a batch',
      tags: ['batches'],
      params: idParams,
      responses: { 200: { description: 'what was removed' } },
      handler: async ({ params, principal }) => {
        const batch = await ctx.db.prisma.$transaction((tx) =>
          tx.batch.findUnique({ where: { id: params.id } }),
        );
        if (!batch) throw new NotFoundError('batch', params.id);
        if (batch.owner !== principal.subject && !actsForOthers(principal))
          throw new ForbiddenError(`batch '${params.id}' belongs to another user`);
        const rows = await ctx.db.prisma.$transaction((tx) => containersOfOperation(tx, batch.operationId));
        const live = rows.filter((r) => !r.removedAt && r.state !== 'creating');
        const errors: { containerId: string; error: string }[] = [];
        for (const c of live)
          await removeContainer(ctx, c, true).catch((err: Error) =>
            errors.push({ containerId: c.id, error: err.message }),
          );
        return { status: 200, body: { removed: live.length - errors.length, errors } };
      },
    }),

    // ---- operations
    defineRoute({
      method: 'get',
      path: '/v1/operations/:id',
      summary: 'One operation',
      tags: ['operations'],
      params: idParams,
      responses: { 200: { description: 'the operation', schema: operationAnswer } },
      handler: async ({ params, principal, req }) => {
        const op = await operationFor(ctx, params.id, principal);
        const wait = parsePreferWait(req.header('prefer'));
        return {
          status: 200,
          body: await operationView(ctx, wait ? await waitForOperation(ctx, op.id, wait) : op),
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/operations',
      summary: 'Operations',
      tags: ['operations'],
      query: operationsQuery,
      responses: { 200: { description: 'a page of operations' } },
      handler: async ({ query, principal }) => {
        const after = decodeCursor(query.cursor, z.string());
        const rows = await ctx.db.prisma.$transaction((tx) =>
          listOperations(
            tx,
            { owner: ownerOf(principal, query.owner), state: query.state, afterId: after },
            query.limit + 1,
          ),
        );
        const page = pageOf(rows, query.limit, (o) => o.id);
        return {
          status: 200,
          body: {
            items: await Promise.all(page.items.map((o) => operationView(ctx, o))),
            nextCursor: page.nextCursor,
          },
        };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/operations/:id',
      summary: 'Cancel an operation; what it did is rolled back',
      tags: ['operations'],
      params: idParams,
      responses: { 202: { description: 'the operation', schema: operationAnswer } },
      handler: async ({ params, principal }) => {
        await operationFor(ctx, params.id, principal);
        await cancelOperation(ctx, params.id);
        const op = await operationFor(ctx, params.id, principal);
        return { status: 202, body: await operationView(ctx, op) };
      },
    }),
  ];
}
