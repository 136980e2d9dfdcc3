import { inTransaction, requireNodesInScope, type Principal } from '@testbed/kit';
import type { OperationRecord } from '../domain/operation-work';
import { containerSpec, startProvisioning } from './create-saga';
import { checkSecondary } from './interfaces';
import type { ProvisioningContext } from '../context';
import type { ContainerInput } from './container-input';

export type { ContainerInput };

/** POST /v1/containers: one container through the create saga, the limits defaulted from configuration. */
export async function createContainer(
  ctx: ProvisioningContext,
  who: Principal,
  body: ContainerInput,
  idempotencyKey: string | undefined,
): Promise<OperationRecord> {
  requireNodesInScope(who, [body.node]);
  const owner = who.subject;
  if (body.secondary) {
    const secondary = body.secondary;
    await inTransaction(ctx.db, ({ tx }) => checkSecondary(ctx, tx, body.node, secondary, owner));
  }
  return startProvisioning(ctx, {
    kind: 'container.create',
    owner,
    request: body,
    plan: [{ name: body.name, node: body.node }],
    ...(body.ip ? { ip: body.ip } : {}),
    spec: {
      ...containerSpec(ctx, body),
      ...(body.env ? { env: body.env } : {}),
      ...(body.secondary ? { secondary: body.secondary } : {}),
    },
    ...(idempotencyKey ? { idempotencyKey } : {}),
  });
}
