/**
 * fast-check arbitraries from the JSON Schemas of an OpenAPI document: values that are mostly
 * what the schema asks for, with hostile values mixed in at every depth (wrong types, NULs, lone
 * surrogates, huge numbers, deep nesting, prototype keys), so both the validators and what lies
 * behind them are exercised.
 */
import fc from 'fast-check';

export type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
  default?: unknown;
};

/** Strings a validator, a database or a Docker daemon may choke on. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      'a\u0000b',
      'x\ud800',
      '\udfff',
      '../../etc/passwd',
      '%00',
      '%',
      '%E0%A4%A',
      "'; DROP TABLE x; --",
      '${jndi:ldap://x}',
      '__proto__',
      'constructor',
      '<script>alert(1)</script>',
      '\u202e\u0000',
      'null',
      '-1',
      '1e309',
      'NaN',
      '0x10',
      '2026-02-30T25:61:00Z',
      '999.999.999.999',
      'ffffffff-ffff-ffff-ffff-fffffffffffff',
    ),
  },
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  // Long: past column sizes, and now and then past the 16 KiB a request line may have.
  { weight: 1, arbitrary: fc.integer({ min: 256, max: 20_000 }).map((n) => 'x'.repeat(n)) },
);

/** Any JSON value (and a few that JSON cannot carry once stringified: they become null). */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    2 ** 31,
    2 ** 53 + 1,
    -(2 ** 63),
    1e308,
    Number.MAX_SAFE_INTEGER,
    0.5,
    [],
    {},
  ),
  fc.double(),
  fc.integer(),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor')), fc.string(), {
    maxKeys: 3,
  }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constant(nested(200)),
);

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

const FORMATS: Record<string, fc.Arbitrary<string>> = {
  uuid: fc.uuid(),
  'date-time': fc
    .date({ min: new Date('2020-01-01'), max: new Date('2035-01-01'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  ipv4: fc.ipV4(),
  uri: fc.webUrl().map((u) => u.replace(/^https?:\/\/[^/]+/, 'http://127.0.0.1:9')),
  email: fc.emailAddress(),
};

export interface ArbitraryOptions {
  /** `#/components/schemas/X` → X's schema. */
  components?: Record<string, JsonSchema>;
  /** Chance (0..1) that any one value is hostile instead of what the schema asks for. */
  hostility?: number;
  /** Values forced at any depth by property name (e.g. a Docker host on loopback only). */
  pinned?: Record<string, unknown>;
}

/** An arbitrary of values for `schema`, hostile with the given chance at every node. */
export function arbitraryOf(
  schema: JsonSchema,
  opts: ArbitraryOptions = {},
  depth = 0,
): fc.Arbitrary<unknown> {
  const hostility = opts.hostility ?? 0.15;
  const valid = validOf(schema, opts, depth);
  if (hostility <= 0) return valid;
  const weight = Math.max(1, Math.round((1 - hostility) / hostility));
  return fc.oneof({ weight, arbitrary: valid }, { weight: 1, arbitrary: hostileValue });
}

function validOf(schema: JsonSchema, opts: ArbitraryOptions, depth: number): fc.Arbitrary<unknown> {
  if (schema.$ref) {
    const name = schema.$ref.split('/').pop() ?? '';
    const target = opts.components?.[name];
    return target ? validOf(target, opts, depth + 1) : hostileValue;
  }
  if (depth > 6) return fc.constant(null);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives?.length) return fc.oneof(...alternatives.map((s) => arbitraryOf(s, opts, depth + 1)));
  if (schema.allOf?.length) return validOf(Object.assign({}, ...schema.allOf) as JsonSchema, opts, depth);
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length > 1) return fc.oneof(...types.map((t) => validOf({ ...schema, type: t }, opts, depth)));
  switch (types[0]) {
    case 'string':
      return stringOf(schema);
    case 'integer':
      return fc.integer({
        min: Math.max(schema.minimum ?? -(2 ** 31), Number.MIN_SAFE_INTEGER),
        max: Math.min(schema.maximum ?? 2 ** 31, Number.MAX_SAFE_INTEGER),
      });
    case 'number':
      return fc.double({
        min: schema.minimum ?? -1e9,
        max: schema.maximum ?? 1e9,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(schema.items ? arbitraryOf(schema.items, opts, depth + 1) : hostileValue, {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 4, (schema.minItems ?? 0) + 4),
      });
    case 'object':
      return objectOf(schema, opts, depth);
    default:
      return hostileValue;
  }
}

function stringOf(schema: JsonSchema): fc.Arbitrary<string> {
  const formatted = schema.format ? FORMATS[schema.format] : undefined;
  if (formatted) return formatted;
  if (schema.pattern) {
    try {
      return fc
        .stringMatching(new RegExp(schema.pattern))
        .filter((s) => s.length <= (schema.maxLength ?? 10_000) && s.length >= (schema.minLength ?? 0));
    } catch {
      // A pattern fast-check cannot generate from: plain strings of the right length instead.
    }
  }
  return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 24, 64) });
}

function objectOf(schema: JsonSchema, opts: ArbitraryOptions, depth: number): fc.Arbitrary<unknown> {
  const properties = schema.properties ?? {};
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, prop] of Object.entries(properties))
    shape[name] =
      name in (opts.pinned ?? {}) ? fc.constant(opts.pinned![name]) : arbitraryOf(prop, opts, depth + 1);
  const required = (schema.required ?? []).filter((r) => r in shape);
  const known = fc.record(shape, { requiredKeys: required });
  const extra =
    schema.additionalProperties && typeof schema.additionalProperties === 'object'
      ? fc.dictionary(
          fc.string({ maxLength: 12 }),
          arbitraryOf(schema.additionalProperties, opts, depth + 1),
          {
            maxKeys: 3,
          },
        )
      : fc.constant({});
  return fc
    .tuple(known, extra, fc.boolean(), fc.dictionary(hostileString, hostileValue, { maxKeys: 2 }))
    .map(([k, e, addUnknown, unknown]) => {
      const out: Record<string, unknown> = { ...(e as object), ...(k as object) };
      if (addUnknown) Object.assign(out, unknown);
      // Pinned keys win over anything an extra or unknown member put under the same name.
      for (const [name, value] of Object.entries(opts.pinned ?? {})) if (name in out) out[name] = value;
      return out;
    });
}
