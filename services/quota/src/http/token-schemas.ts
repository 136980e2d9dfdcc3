import { z } from 'zod';
import { pageQuery, ROLES } from '@testbed/kit';
import { instant, nodeName, userName } from './schemas';

export const tokenParams = z.object({ id: z.uuid({ error: 'not a token id' }) });
export const tokensQuery = z.object({ ...pageQuery });

export const tokenBody = z
  .object({
    name: z.string().trim().min(1).max(200).describe('what the token is for, e.g. "CI of project x"'),
    subject: userName.describe('whom the token acts as'),
    role: z.enum(ROLES),
    nodes: z
      .array(nodeName)
      .min(1, 'at least one node; leave nodes out for a token of any node')
      .max(64)
      .refine((nodes) => new Set(nodes).size === nodes.length, 'a node appears twice')
      .optional()
      .describe('the only nodes the token may create containers on; absent: any node'),
    expiresAt: instant.describe('in the future, at most 366 days ahead'),
  })
  .strict();

export const tokenAnswer = z.object({
  id: z.string(),
  name: z.string(),
  subject: z.string(),
  role: z.enum(ROLES),
  nodes: z.array(z.string()).nullable().describe('null: any node'),
  state: z.enum(['active', 'expired', 'revoked']),
  createdBy: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  revokedAt: z.string().nullable(),
});

export const createdTokenAnswer = tokenAnswer.extend({
  token: z.string().describe('the bearer token: shown only in this answer, never again'),
});

export const introspectBody = z.object({ token: z.string().max(1000) }).strict();
