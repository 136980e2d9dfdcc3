import path from 'node:path';
import { z } from 'zod';
import {
  defineRoute,
  loadOrCreateLocalKey,
  ROLES,
  signLocalToken,
  type LocalSigningKey,
  type ServiceModule,
} from '@testbed/kit';

/** The same rule as `npm run token`: what a user name may be. */
const userName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/i, 'letters, digits, ".", "_" and "-"; at most 63');

export const localTokenBody = z.object({
  user: userName,
  role: z.enum(ROLES).default('user'),
});

export const localTokenAnswer = z.object({
  accessToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int().describe('seconds'),
  user: z.string(),
  role: z.enum(ROLES),
});

export interface LocalSignInConfig {
  DATA_DIR: string;
  AUTH_JWKS_URL?: string;
  AUTH_ISSUER: string;
  AUTH_AUDIENCE: string;
}

const TTL_SECONDS = 12 * 3600;

/**
 * The embedded default's sign-in: `POST /v1/auth/local-token { user, role? }` answers a token
 * signed by the local key, what `npm run token` prints. It exists only while the local key is
 * what the services trust (no AUTH_JWKS_URL): with an identity provider configured, tokens come
 * from it alone and this route is not mounted (404). The embedded default listens on loopback by
 * default, so this is the same trust as a shell on the machine that can read the key.
 */
export function localSignIn(config: LocalSignInConfig): ServiceModule {
  if (config.AUTH_JWKS_URL) return { name: 'local-sign-in' };
  let key: Promise<LocalSigningKey> | undefined;
  const localKey = () => (key ??= loadOrCreateLocalKey(path.resolve(config.DATA_DIR)));
  return {
    name: 'local-sign-in',
    routes: [
      defineRoute({
        method: 'post',
        path: '/v1/auth/local-token',
        summary: 'Sign in locally: a token of the local key for a user name (embedded default only)',
        tags: ['sign-in'],
        roles: 'public',
        body: localTokenBody,
        responses: { 201: { description: 'the token', schema: localTokenAnswer } },
        handler: async ({ body, res }) => {
          const accessToken = await signLocalToken(await localKey(), {
            subject: body.user,
            role: body.role,
            issuer: config.AUTH_ISSUER,
            audience: config.AUTH_AUDIENCE,
            ttlSeconds: TTL_SECONDS,
          });
          // A token is a credential: never kept by a cache in between.
          res.setHeader('Cache-Control', 'no-store');
          return {
            status: 201,
            body: {
              accessToken,
              tokenType: 'Bearer',
              expiresIn: TTL_SECONDS,
              user: body.user,
              role: body.role,
            },
          };
        },
      }),
    ],
  };
}
