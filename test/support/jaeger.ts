/**
 * A trace as the rig's Jaeger answers it (`GET /api/traces/<id>` of its query API), flattened
 * to what tests assert on: each span with its service, kind, parent, tags and error flag.
 */
export interface TraceSpan {
  spanId: string;
  /** The CHILD_OF parent's span id; undefined for the trace's root. */
  parentId: string | undefined;
  operationName: string;
  service: string;
  /** OpenTelemetry's span kind as Jaeger keeps it (`span.kind`): server, client, producer… */
  kind: string | undefined;
  tags: Record<string, unknown>;
  /** Jaeger's `error` tag: the span's status was ERROR. */
  error: boolean;
}

export interface JaegerTrace {
  traceId: string;
  spans: TraceSpan[];
}

interface RawTrace {
  traceID: string;
  spans: {
    spanID: string;
    operationName: string;
    processID: string;
    references?: { refType: string; spanID: string; traceID: string }[];
    tags?: { key: string; value: unknown }[];
  }[];
  processes: Record<string, { serviceName: string }>;
}

/** The trace, or undefined while Jaeger does not know it yet (404, or no data). */
export async function jaegerTrace(queryUrl: string, traceId: string): Promise<JaegerTrace | undefined> {
  const res = await fetch(`${queryUrl.replace(/\/+$/, '')}/api/traces/${traceId}`);
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`Jaeger answered ${res.status} for trace ${traceId}`);
  const raw = ((await res.json()) as { data?: RawTrace[] }).data?.[0];
  if (!raw) return undefined;
  return {
    traceId: raw.traceID,
    spans: raw.spans.map((s) => {
      const tags = Object.fromEntries((s.tags ?? []).map((t) => [t.key, t.value]));
      return {
        spanId: s.spanID,
        parentId: s.references?.find((r) => r.refType === 'CHILD_OF')?.spanID,
        operationName: s.operationName,
        service: raw.processes[s.processID]?.serviceName ?? '?',
        kind: typeof tags['span.kind'] === 'string' ? tags['span.kind'] : undefined,
        tags,
        error: tags.error === true || tags['otel.status_code'] === 'ERROR',
      };
    }),
  };
}

/** Spans whose parent is not in the trace (not exported, or exported elsewhere). */
export function orphanSpans(t: JaegerTrace): TraceSpan[] {
  const ids = new Set(t.spans.map((s) => s.spanId));
  return t.spans.filter((s) => s.parentId !== undefined && !ids.has(s.parentId));
}

/**
 * The service-to-service edges of a trace, as `caller → callee`: a span whose parent ran in
 * another service, and `<service> → docker` for the Docker calls (client spans `docker …`).
 */
export function serviceEdges(t: JaegerTrace): string[] {
  const byId = new Map(t.spans.map((s) => [s.spanId, s]));
  const edges = new Set<string>();
  for (const s of t.spans) {
    const parent = s.parentId ? byId.get(s.parentId) : undefined;
    if (parent && parent.service !== s.service) edges.add(`${parent.service} → ${s.service}`);
    if (s.kind === 'client' && s.operationName.startsWith('docker ')) edges.add(`${s.service} → docker`);
  }
  return [...edges].sort();
}
