import { z } from 'zod';
import { decodeCursor, defineRoute, pageOf, pageQuery, type AuditEntry, type RouteSpec } from '@testbed/kit';
import { idParams } from './schemas';
import { pageAnswer } from './answers';
import type { AuditEntryView } from './audit-entry-view';
import { auditPage, containerActions } from '../use-cases/audit';
import type { ProvisioningContext } from '../context';

const tags = ['audit'];

const RESULTS = ['accepted', 'succeeded', 'refused', 'failed'] as const;

const instant = (field: string) =>
  z.iso
    .datetime({ offset: true, message: `${field}: an ISO 8601 date-time` })
    .transform((s) => new Date(s))
    .optional();

export const auditQuery = z
  .object({
    ...pageQuery,
    user: z.string().min(1).max(256).optional(),
    action: z.string().min(1).max(128).optional(),
    targetType: z.string().min(1).max(64).optional(),
    targetId: z.string().min(1).max(256).optional(),
    operation: z.uuid().optional(),
    result: z.enum(RESULTS).optional(),
    from: instant('from'),
    to: instant('to'),
  })
  .refine((q) => !q.from || !q.to || q.from < q.to, { path: ['to'], message: 'must be after from' });

const actionsQuery = z.object({ ...pageQuery });

export const auditEntryAnswer = z.object({
  seq: z.number().int(),
  at: z.string(),
  source: z.string(),
  actor: z.string(),
  role: z.string(),
  tokenId: z.string().optional(),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string().optional(),
  result: z.enum(RESULTS),
  status: z.number().int().optional(),
  reason: z.string().optional(),
  sourceIp: z.string().optional(),
  userAgent: z.string().optional(),
  requestId: z.string().optional(),
  traceId: z.string().optional(),
  inTransaction: z.boolean(),
  details: z.record(z.string(), z.unknown()),
});

const view = (e: AuditEntry): AuditEntryView => ({ ...e, at: e.at.toISOString() });

const seqCursor = z.number().int().nonnegative();

/** The audit log: all of it for operators, a container's own list for whoever may see it. */
export function auditRoutes(ctx: ProvisioningContext): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/audit',
      summary: 'The audit log, newest first: who did what, when, from where, and the result',
      tags,
      roles: ['operator'],
      query: auditQuery,
      responses: { 200: { description: 'a page of audit entries', schema: pageAnswer(auditEntryAnswer) } },
      handler: async ({ query }) => {
        const rows = await auditPage(
          ctx,
          {
            actor: query.user,
            action: query.action,
            targetType: query.targetType,
            targetId: query.targetId,
            operation: query.operation,
            result: query.result,
            from: query.from,
            to: query.to,
            afterSeq: decodeCursor(query.cursor, seqCursor),
          },
          query.limit + 1,
        );
        return { status: 200, body: pageOf(rows, query.limit, (e) => e.seq, view) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/containers/:id/actions',
      summary: "A container's action list, oldest first: what was asked of it, by whom, and how it ended",
      tags: ['containers', ...tags],
      params: idParams,
      query: actionsQuery,
      responses: { 200: { description: 'a page of audit entries', schema: pageAnswer(auditEntryAnswer) } },
      handler: async ({ params, query, principal }) => {
        const after = decodeCursor(query.cursor, seqCursor);
        const rows = await containerActions(
          ctx,
          params.id,
          principal,
          after !== undefined ? { afterSeq: after } : {},
          query.limit + 1,
        );
        return { status: 200, body: pageOf(rows, query.limit, (e) => e.seq, view) };
      },
    }),
  ];
}
