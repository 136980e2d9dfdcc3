/**
 * Where a platform run leaves text, gathered for the secret scan: every HTTP answer the test got
 * (status, headers, body), each service's log lines, the bus's rows in Postgres and the messages
 * on its Kafka topics, and the spans Jaeger keeps of the run's traces.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import type { Corpus } from './secret-search';

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/**
 * fetch that keeps each answer whole for the scan and sends a traceparent of its own, so the
 * trace of every request is known.
 */
export class AnswerRecorder {
  readonly answers: Corpus['items'] = [];
  readonly traceIds = new Set<string>();
  /** Answers meant to hold a secret (the one answer that issues an API token), kept out of the scan. */
  readonly issuing: Corpus['items'] = [];

  async ask(
    url: string,
    opts: {
      method?: string;
      token?: string;
      body?: unknown;
      headers?: Record<string, string>;
      issuing?: boolean;
    } = {},
  ): Promise<Answer> {
    const traceId = randomBytes(16).toString('hex');
    this.traceIds.add(traceId);
    const headers = new Headers(opts.headers);
    headers.set('traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-01`);
    if (opts.token) headers.set('authorization', `Bearer ${opts.token}`);
    if (opts.body !== undefined) headers.set('content-type', 'application/json');
    const method = opts.method ?? 'GET';
    const res = await fetch(url, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(120_000),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const head = [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
    (opts.issuing ? this.issuing : this.answers).push({
      where: `${method} ${new URL(url).pathname} → ${res.status}`,
      text: `HTTP ${res.status}\n${head}\n\n${text}`,
    });
    return { status: res.status, headers: res.headers, text, json };
  }
}

/** Each line of each log file (stdout and stderr of a service process). */
export function logLines(files: Record<string, string>): Corpus['items'] {
  const items: Corpus['items'] = [];
  for (const [service, file] of Object.entries(files)) {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.trim()) items.push({ where: `${service} log line ${i + 1}`, text: line });
    });
  }
  return items;
}

/** The trace ids named by JSON log lines (`trace_id`, pino's mixin). */
export function traceIdsOfLogs(lines: Corpus['items']): Set<string> {
  const ids = new Set<string>();
  for (const l of lines) for (const m of l.text.matchAll(/"trace_id":"([0-9a-f]{32})"/g)) ids.add(m[1]!);
  return ids;
}

/** The bus's rows in the platform's database: the outbox (events and their headers), dead letters. */
export async function busRows(databaseUrl: string): Promise<Corpus['items']> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const items: Corpus['items'] = [];
    const outbox = await client.query<{ seq: string; row: unknown }>(
      'SELECT seq::text, row_to_json(o) AS row FROM bus.outbox o ORDER BY seq',
    );
    for (const r of outbox.rows)
      items.push({ where: `bus.outbox seq ${r.seq}`, text: JSON.stringify(r.row) });
    const dead = await client.query<{ id: string; row: unknown }>(
      'SELECT id::text, row_to_json(d) AS row FROM bus.dead_letter d ORDER BY id',
    );
    for (const r of dead.rows) items.push({ where: `bus.dead_letter ${r.id}`, text: JSON.stringify(r.row) });
    return items;
  } finally {
    await client.end();
  }
}

/** The audit log's entries (a log kept in the database, schema `audit`). */
export async function auditRows(databaseUrl: string): Promise<Corpus['items']> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const r = await client.query<{ seq: string; row: unknown }>(
      'SELECT seq::text, row_to_json(e) AS row FROM audit.entry e ORDER BY seq',
    );
    return r.rows.map((x) => ({ where: `audit.entry ${x.seq}`, text: JSON.stringify(x.row) }));
  } finally {
    await client.end();
  }
}

/**
 * Every message on the topics of `namespace` (`<namespace>.<topic>`), key, headers and value,
 * read from the beginning up to the offsets the topics had when called (bounded).
 */
export async function kafkaMessages(
  brokers: string[],
  namespace: string,
  withinMs = 60_000,
): Promise<Corpus['items']> {
  const kafka = new Kafka({ clientId: `secret-scan-${namespace}`, brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const items: Corpus['items'] = [];
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${namespace}.`));
    let expected = 0;
    for (const topic of topics)
      for (const p of await admin.fetchTopicOffsets(topic)) expected += Number(p.high) - Number(p.low);
    if (expected === 0) return items;
    const groupId = `secret-scan-${randomBytes(4).toString('hex')}`;
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics, fromBeginning: true });
      let seen = 0;
      const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`read ${seen} of ${expected} Kafka messages within ${withinMs} ms`)),
          withinMs,
        );
        void consumer.run({
          eachMessage: async ({ topic, partition, message }) => {
            const headers = Object.entries(message.headers ?? {})
              .map(([k, v]) => `${k}: ${String(v)}`)
              .join('\n');
            items.push({
              where: `kafka ${topic}[${partition}]@${message.offset}`,
              text: `key: ${message.key?.toString() ?? ''}\n${headers}\n\n${message.value?.toString('utf8') ?? ''}`,
            });
            seen += 1;
            if (seen >= expected) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
      await done;
    } finally {
      await consumer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
  } finally {
    await admin.disconnect();
  }
  return items;
}

interface RawSpan {
  spanID: string;
  processID: string;
  operationName: string;
}
interface RawTrace {
  traceID: string;
  spans: RawSpan[];
  processes: Record<string, unknown>;
}

async function rawTrace(queryUrl: string, traceId: string): Promise<RawTrace | undefined> {
  const res = await fetch(`${queryUrl}/api/traces/${traceId}`, { signal: AbortSignal.timeout(10_000) });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`Jaeger answered ${res.status} for trace ${traceId}`);
  return ((await res.json()) as { data?: RawTrace[] }).data?.[0];
}

/** The traces Jaeger's search finds by a resource attribute of this run's processes. */
export async function tracesTagged(
  queryUrl: string,
  services: string[],
  tag: Record<string, string>,
): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const service of services) {
    const q = new URLSearchParams({ service, tags: JSON.stringify(tag), lookback: '1h', limit: '2000' });
    const res = await fetch(`${queryUrl}/api/traces?${q}`, { signal: AbortSignal.timeout(20_000) });
    if (!res.ok) continue;
    for (const t of ((await res.json()) as { data?: RawTrace[] }).data ?? []) ids.add(t.traceID);
  }
  return ids;
}

/**
 * Each span of the traces Jaeger has, whole as its query API answers it (tags, logs, events,
 * its process's tags): one corpus item per span. Waits (bounded) for the traces in `mustHave`.
 */
export async function exportedSpans(
  queryUrl: string,
  traceIds: Set<string>,
  mustHave: Set<string>,
  withinMs = 60_000,
): Promise<{ items: Corpus['items']; found: number; missing: string[] }> {
  const base = queryUrl.replace(/\/+$/, '');
  const deadline = Date.now() + withinMs;
  const got = new Map<string, RawTrace>();
  for (;;) {
    for (const id of traceIds) {
      if (got.has(id)) continue;
      const t = await rawTrace(base, id);
      if (t) got.set(id, t);
    }
    const missing = [...mustHave].filter((id) => !got.has(id));
    if (missing.length === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  // Once more for every trace: spans exported after the first read (a consumer's, a relay's).
  for (const id of got.keys()) {
    const t = await rawTrace(base, id);
    if (t) got.set(id, t);
  }
  const items: Corpus['items'] = [];
  for (const t of got.values())
    for (const s of t.spans)
      items.push({
        where: `trace ${t.traceID} span ${s.spanID} (${s.operationName})`,
        text: JSON.stringify({ span: s, process: t.processes[s.processID] }),
      });
  return { items, found: got.size, missing: [...mustHave].filter((id) => !got.has(id)) };
}
