/** `npm run token -- <user> [user|operator|service]`: prints a token signed by the local key. */
import path from 'node:path';
import { z } from 'zod';
import { loadConfig } from '../config';
import { ROLES } from './principal';
import { loadOrCreateLocalKey, signLocalToken } from './local-key';

async function main(): Promise<void> {
  const [subject, role = 'user'] = process.argv.slice(2);
  const args = z
    .object({ subject: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/i, 'a user name'), role: z.enum(ROLES) })
    .safeParse({ subject, role });
  if (!args.success) {
    console.error(`usage: npm run token -- <user> [${ROLES.join('|')}]\n${z.prettifyError(args.error)}`);
    process.exit(2);
  }
  const config = loadConfig(
    z.object({
      DATA_DIR: z.string().default('.data'),
      AUTH_ISSUER: z.string().default('testbed-local'),
      AUTH_AUDIENCE: z.string().default('testbed'),
      TOKEN_TTL_SECONDS: z.coerce
        .number()
        .int()
        .positive()
        .default(12 * 3600),
    }),
  );
  const key = await loadOrCreateLocalKey(path.resolve(config.DATA_DIR));
  const token = await signLocalToken(key, {
    subject: args.data.subject,
    role: args.data.role,
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    ttlSeconds: config.TOKEN_TTL_SECONDS,
  });
  process.stdout.write(`${token}\n`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
