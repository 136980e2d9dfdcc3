import { ForbiddenError } from '../http/errors';

export const ROLES = ['user', 'operator', 'service'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: the token's subject and its role. */
export interface Principal {
  subject: string;
  role: Role;
  /** An API token scoped to these nodes creates containers on them only; absent: any node. */
  nodes?: string[];
  /** The API token the caller presented (absent for identity-provider tokens). */
  tokenId?: string;
}

export interface Authenticator {
  /** Resolves the principal of a bearer token or throws UnauthorizedError. */
  verify(token: string): Promise<Principal>;
}

/** Operators and the service role (portal, reservation system) act on anyone's behalf. */
export function actsForOthers(p: Principal): boolean {
  return p.role === 'operator' || p.role === 'service';
}

/** Refuses (403) work on nodes outside the scope of a caller's API token; unscoped callers pass. */
export function requireNodesInScope(p: Principal, nodes: readonly string[]): void {
  const scope = p.nodes;
  if (!scope) return;
  const outside = [...new Set(nodes)].filter((n) => !scope.includes(n));
  if (outside.length > 0)
    throw new ForbiddenError(
      `this token is scoped to ${scope.map((n) => `'${n}'`).join(', ')}: not ${outside.map((n) => `'${n}'`).join(', ')}`,
      { nodes: outside },
    );
}
