import type { FieldProblem } from './errors';

/**
 * Postgres' text cannot hold a NUL character, and a lone UTF-16 surrogate (half of a pair, which
 * JSON's `\ud800` escapes can carry) has no UTF-8 encoding: either in a field or in a key of a
 * free-form object reaches the database as an error. The edge refuses them, naming the field.
 */
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function unstorableReason(text: string): string | undefined {
  const m = UNSTORABLE.exec(text);
  if (!m) return undefined;
  return m[0] === '\u0000'
    ? 'contains a NUL character, which cannot be stored'
    : 'contains a lone UTF-16 surrogate (half of a character), which cannot be stored';
}

/** Every string (value or key) under `value` that the database cannot store, with its path. */
export function unstorableStrings(value: unknown, path: string, out: FieldProblem[] = []): FieldProblem[] {
  if (typeof value === 'string') {
    const reason = unstorableReason(value);
    if (reason) out.push({ path, message: reason });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => unstorableStrings(v, `${path}.${i}`, out));
  } else if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const [key, v] of Object.entries(value)) {
      const reason = unstorableReason(key);
      if (reason) out.push({ path, message: `a key (${JSON.stringify(key)}) ${reason}` });
      else unstorableStrings(v, `${path}.${key}`, out);
    }
  }
  return out;
}
