import fs from 'node:fs';
import { z } from 'zod';

/** Thrown when the environment does not satisfy a service's configuration schema. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment once at start with a zod schema whose keys are the variable names.
 * Every problem is collected, so an operator fixes them all in one go instead of one per restart.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    const value = env[String(issue.path[0])];
    const shown = value === undefined ? 'missing' : `got ${JSON.stringify(redact(name, value))}`;
    return `${name}: ${issue.message} (${shown})`;
  });
  throw new ConfigError(problems);
}

function redact(name: string, value: string): string {
  return /SECRET|PASSWORD|KEY|TOKEN/i.test(name)
    ? '***'
    : value.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@');
}

/** KEY=VALUE lines as deploy/local/stack.sh writes them (optional `export`, optional quotes, # comments). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(raw);
    if (!m?.[1] || raw.trimStart().startsWith('#')) continue;
    let value = m[2] ?? '';
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    out[m[1]] = value;
  }
  return out;
}

/** Loads such a file (e.g. the rig's deploy/local/.env) without overriding what is already set. */
export function loadEnvFile(path: string, env: Record<string, string | undefined> = process.env): boolean {
  if (!fs.existsSync(path)) return false;
  for (const [key, value] of Object.entries(parseEnvFile(fs.readFileSync(path, 'utf8')))) env[key] ??= value;
  return true;
}
