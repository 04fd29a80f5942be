import { z } from 'zod';

/**
 * A user's own stream (`user-<login>`): the account, its API tokens and the repo
 * permissions an admin granted it. Drone syncs permissions from the forge; runlog has no
 * forge login yet, so an admin grants them, and each grant is audited here like a build.
 * A token is stored only as its sha256 (hex): the clear token is shown once and never
 * recorded, so neither the log nor an export can be replayed into a working token.
 */
export const userStreamId = (login: string) => `user-${login.toLowerCase()}`;

/** Drone's logins: forge user names. */
export const Login = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?$/, 'expected a login: letters, digits, ".", "_" or "-", starting with a letter or digit');

export const Permission = z.enum(['read', 'write', 'admin']);
export type Permission = z.infer<typeof Permission>;

const at = z.string();

export const UserCreated = z.object({
  type: z.literal('UserCreated'),
  data: z.object({ login: z.string(), admin: z.boolean(), email: z.string().default(''), by: z.string(), at }),
});
export const UserUpdated = z.object({
  type: z.literal('UserUpdated'),
  data: z.object({ login: z.string(), admin: z.boolean().optional(), active: z.boolean().optional(), by: z.string(), at }),
});
export const UserDeleted = z.object({
  type: z.literal('UserDeleted'),
  data: z.object({ login: z.string(), by: z.string(), at }),
});
export const TokenIssued = z.object({
  type: z.literal('TokenIssued'),
  /** `sha256`: hex digest of the token; `tokenId`: its public name (a prefix of the token). */
  data: z.object({ login: z.string(), tokenId: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), by: z.string(), at }),
});
export const TokenRevoked = z.object({
  type: z.literal('TokenRevoked'),
  data: z.object({ login: z.string(), tokenId: z.string(), by: z.string(), at }),
});
export const PermissionGranted = z.object({
  type: z.literal('PermissionGranted'),
  data: z.object({ login: z.string(), repoId: z.string(), repo: z.string(), permission: Permission, by: z.string(), at }),
});
export const PermissionRevoked = z.object({
  type: z.literal('PermissionRevoked'),
  data: z.object({ login: z.string(), repoId: z.string(), repo: z.string(), by: z.string(), at }),
});

export const UserEvent = z.discriminatedUnion('type', [UserCreated, UserUpdated, UserDeleted, TokenIssued, TokenRevoked, PermissionGranted, PermissionRevoked]);
export type UserEvent = z.infer<typeof UserEvent>;
export const userEventTypes: ReadonlySet<string> = new Set(UserEvent.options.map((option) => option.shape.type.value));
