import { z } from 'zod';
import type { RouteSpec } from './route';
import { isRateLimited, type RateLimits } from './rate-limit';
import { ROLES } from '../auth/principal';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
}

/** `/v1/pools/:pool` → `/v1/pools/{pool}` */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(where: 'path' | 'query', schema: z.ZodType | undefined): JsonSchema[] {
  if (!schema) return [];
  const object = jsonSchema(schema, 'input');
  const properties = (object.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((object.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, propertySchema]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    ...(propertySchema.description ? { description: propertySchema.description } : {}),
    schema: propertySchema,
  }));
}

const problemContent = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };

const integerHeader = (description: string) => ({
  description,
  schema: { type: 'integer', minimum: 0 },
});

/** The answer of a subject over its rate limit (rate-limit.ts), on every operation that can give it. */
const rateLimitedResponse = {
  description: 'Too many changes by this subject in the current minute: a problem of type rate-limited',
  headers: {
    'Retry-After': integerHeader('Seconds until the current window ends'),
    'RateLimit-Limit': integerHeader('Changes this subject may make in a window'),
    'RateLimit-Remaining': integerHeader('Changes left in the current window'),
    'RateLimit-Reset': integerHeader('Seconds until the current window ends'),
  },
  content: problemContent,
};

function operation(route: RouteSpec, rateLimits: RateLimits | undefined): JsonSchema {
  const responses: JsonSchema = {};
  for (const [status, spec] of Object.entries(route.responses)) {
    // An error a route names without a schema is answered as every error is: a problem.
    const content = spec.schema
      ? { [spec.contentType ?? 'application/json']: { schema: jsonSchema(spec.schema, 'output') } }
      : Number(status) >= 400
        ? problemContent
        : undefined;
    responses[status] = { description: spec.description, ...(content ? { content } : {}) };
  }
  if (isRateLimited(route, rateLimits)) responses['429'] ??= rateLimitedResponse;
  responses.default = { description: 'An RFC 9457 problem', content: problemContent };
  const body = route.body
    ? { content: { 'application/json': { schema: jsonSchema(route.body, 'input') } }, required: true }
    : route.rawBody
      ? { content: { [route.rawBody.contentType]: { schema: { type: 'string', format: 'binary' } } } }
      : undefined;
  return {
    summary: route.summary,
    ...(route.tags ? { tags: route.tags } : {}),
    parameters: [...parameters('path', route.params), ...parameters('query', route.query)],
    ...(body ? { requestBody: body } : {}),
    responses,
    ...(route.roles === 'public' ? { security: [] } : {}),
    // Who may call it: clients and the access-matrix test read the rule from the document itself.
    ...(route.roles !== 'public' ? { 'x-roles': [...(route.roles ?? ROLES)] } : {}),
  };
}

const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
};

/** An OpenAPI 3.1 document of the given routes, with a 429 where `rateLimits` can refuse a request. */
export function buildOpenApiDocument(
  info: { title: string; version: string },
  routes: RouteSpec[],
  opts: { rateLimits?: RateLimits } = {},
) {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const p = openApiPath(route.path);
    paths[p] ??= {};
    paths[p][route.method] = operation(route, opts.rateLimits);
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      schemas: { Problem: problemSchema },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
    security: [{ bearer: [] }],
  };
}
