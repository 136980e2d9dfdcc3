/**
 * The operations of an OpenAPI document as the security suites walk them: method, path template,
 * parameters, body schema, the roles allowed (`x-roles`) and the statuses documented.
 */
import type { JsonSchema } from './schema-arbitrary';

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: JsonSchema;
}

export interface Operation {
  method: string;
  /** OpenAPI template, `/v1/containers/{id}`. */
  path: string;
  parameters: Parameter[];
  /** The JSON body's schema, or the raw body's content type. */
  body?: { json: JsonSchema } | { raw: string };
  public: boolean;
  /** The roles allowed; every role when the operation names none. */
  roles: string[];
  statuses: string[];
  streamed: boolean;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, RawOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

interface RawOperation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { content?: Record<string, unknown> }>;
  security?: unknown[];
  'x-roles'?: string[];
}

export function operationsOf(doc: OpenApiDocument, allRoles: readonly string[]): Operation[] {
  const out: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const content = op.requestBody?.content ?? {};
      const json = content['application/json']?.schema;
      const raw = Object.keys(content).find((c) => c !== 'application/json');
      out.push({
        method: method.toUpperCase(),
        path,
        parameters: op.parameters ?? [],
        body: json ? { json } : raw ? { raw } : undefined,
        public: Array.isArray(op.security) && op.security.length === 0,
        roles: op['x-roles'] ?? [...allRoles],
        statuses: Object.keys(op.responses),
        streamed: Object.values(op.responses).some((r) => 'text/event-stream' in (r.content ?? {})),
      });
    }
  }
  return out;
}

/** The template with each `{name}` replaced by its (already encoded) value. */
export function fillPath(template: string, values: Record<string, string>): string {
  return template.replace(/\{([^}]+)\}/g, (_m, name: string) => values[name] ?? 'x');
}

/**
 * Sends a request and reads its answer within bounds: an endless stream (SSE, followed logs)
 * is read for a moment and cut, since only its status and headers are under test.
 */
export async function send(
  url: string,
  init: RequestInit,
  ms = 15_000,
): Promise<{ status: number; contentType: string; text: string; headers: Headers }> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new Error(`no answer within ${ms} ms`)), ms);
  try {
    const res = await fetch(url, { ...init, signal: ctl.signal, redirect: 'manual' });
    const contentType = res.headers.get('content-type') ?? '';
    if (contentType.startsWith('text/event-stream')) {
      clearTimeout(timer);
      ctl.abort();
      return { status: res.status, contentType, text: '', headers: res.headers };
    }
    const text = await res.text();
    return { status: res.status, contentType, text, headers: res.headers };
  } finally {
    clearTimeout(timer);
  }
}
