import { z } from 'zod';

/**
 * A repository's secrets on a stream of their own (`secrets-<repo id>`), so every change is
 * audited (who, when, which flags) and the `secrets` view is rebuilt from the log like any
 * other. The value travels only sealed (AES-256-GCM, sealed-value.ts): the log stays the
 * one source of truth — export, import, rebuild and verify carry secrets too — and a
 * reader of the events table, an export or a log line sees ciphertext, never the value.
 */
export const secretStreamId = (repoId: string) => `secrets-${repoId}`;

/** Drone's secret names: what `from_secret` names. */
export const SecretName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_.-]+$/, 'expected a secret name: letters, digits, "_", "." or "-"');

const at = z.string();
const flags = {
  /** Drone: the secret is given to pull_request builds too (off by default). */
  pullRequest: z.boolean(),
  /** Drone's `pull_request_push` flag, kept and returned for compatibility; runlog's rule reads only `pullRequest`. */
  pullRequestPush: z.boolean(),
};

export const SecretCreated = z.object({
  type: z.literal('SecretCreated'),
  data: z.object({ repoId: z.string(), name: z.string(), sealed: z.string(), ...flags, by: z.string(), at }),
});
export const SecretUpdated = z.object({
  type: z.literal('SecretUpdated'),
  data: z.object({
    repoId: z.string(),
    name: z.string(),
    sealed: z.string().optional(),
    pullRequest: flags.pullRequest.optional(),
    pullRequestPush: flags.pullRequestPush.optional(),
    by: z.string(),
    at,
  }),
});
export const SecretDeleted = z.object({
  type: z.literal('SecretDeleted'),
  data: z.object({ repoId: z.string(), name: z.string(), by: z.string(), at }),
});

export const SecretEvent = z.discriminatedUnion('type', [SecretCreated, SecretUpdated, SecretDeleted]);
export type SecretEvent = z.infer<typeof SecretEvent>;
export const secretEventTypes: ReadonlySet<string> = new Set(SecretEvent.options.map((option) => option.shape.type.value));
