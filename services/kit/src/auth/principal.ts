export const ROLES = ['user', 'operator', 'service'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: the token's subject and its role. */
export interface Principal {
  subject: string;
  role: Role;
}

export interface Authenticator {
  /** Resolves the principal of a bearer token or throws UnauthorizedError. */
  verify(token: string): Promise<Principal>;
}

/** Operators and the service role (portal, reservation system) act on anyone's behalf. */
export function actsForOthers(p: Principal): boolean {
  return p.role === 'operator' || p.role === 'service';
}
