import type { z } from 'zod';
import { InvalidError, type FieldProblem } from './errors';
import { unstorableStrings } from './storable';

type Part = 'params' | 'query' | 'body';

function problemsOf(part: Part, error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({
    path: [part, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}

/**
 * Validates path, query and body together, so one answer names every wrong field
 * (`<part>.<field>`), not just the first part that failed. A string the database could not store
 * (NUL, a lone surrogate) is refused here, whatever the schema, so no service meets it in SQL.
 */
export function parseRequest(
  schemas: Partial<Record<Part, z.ZodType>>,
  values: Record<Part, unknown>,
): Record<Part, unknown> {
  const parsed: Record<Part, unknown> = { ...values };
  const problems: FieldProblem[] = [];
  for (const part of ['params', 'query', 'body'] as const) {
    const unstorable = unstorableStrings(values[part], part);
    if (unstorable.length > 0) {
      problems.push(...unstorable);
      continue;
    }
    const schema = schemas[part];
    if (!schema) continue;
    const result = schema.safeParse(values[part]);
    if (result.success) parsed[part] = result.data;
    else problems.push(...problemsOf(part, result.error));
  }
  if (problems.length > 0) throw new InvalidError(problems);
  return parsed;
}
