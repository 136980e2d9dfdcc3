import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { Principal, Role } from '../auth/principal';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Defaults to application/json. */
  contentType?: string;
}

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** Absent only on public routes. */
  principal: Principal;
  req: Request;
  res: Response;
}

/** What a handler answers; `streamed` when it wrote the response itself (files, SSE). */
export type RouteResult =
  { status: number; body?: unknown; headers?: Record<string, string> } | { streamed: true };

/**
 * One endpoint, declared once: the same zod schemas validate the request and generate the
 * OpenAPI document, so the two cannot drift.
 */
export interface RouteSpec<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
> {
  method: HttpMethod;
  /** Express syntax, e.g. `/v1/pools/:pool`. */
  path: string;
  summary: string;
  tags?: string[];
  /** Roles allowed; 'public' needs no token; omitted means any authenticated caller. */
  roles?: readonly Role[] | 'public';
  params?: P;
  query?: Q;
  body?: B;
  /**
   * The token may also come as `?access_token=` (an EventSource cannot send headers). The query
   * schema must then allow that member.
   */
  tokenInQuery?: boolean;
  /** Raw request bodies (e.g. tar uploads) are not parsed as JSON. */
  rawBody?: { contentType: string };
  responses: Record<number, ResponseSpec>;
  /** The audit log's name of what a mutating route does, when the derived one misleads (`token.revoke`). */
  auditAction?: string;
  handler(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<RouteResult>;
}

/** Identity function that keeps the handler's input types inferred from the schemas. */
export function defineRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(
  spec: RouteSpec<P, Q, B>,
): RouteSpec {
  return spec as unknown as RouteSpec;
}
