import { z } from 'zod';

/**
 * A repository's own stream (`repo-<uuid>`): its activation and settings changes are
 * audited like builds are. Field names are runlog's; the API maps them to Drone's JSON.
 */
export const repoStreamId = (repoId: string) => `repo-${repoId}`;

/** Settings a user may set at activation and change later (Drone's repo fields). */
export const RepoSettings = z.object({
  cloneUrl: z.string().default(''),
  defaultBranch: z.string().min(1).default('main'),
  configPath: z.string().min(1).default('.drone.yml'),
  /** Stage timeout in minutes. */
  timeout: z.number().int().min(1).max(24 * 60).default(60),
  trusted: z.boolean().default(false),
  /** Builds not triggered by an admin wait for approval. */
  protected: z.boolean().default(false),
  visibility: z.enum(['public', 'private', 'internal']).default('private'),
});
export type RepoSettings = z.infer<typeof RepoSettings>;

const at = z.string();

export const RepoActivated = z.object({
  type: z.literal('RepoActivated'),
  data: z.object({ repoId: z.string(), owner: z.string(), name: z.string(), settings: RepoSettings, by: z.string(), at }),
});
export const RepoUpdated = z.object({
  type: z.literal('RepoUpdated'),
  data: z.object({ repoId: z.string(), changes: RepoSettings.partial(), by: z.string(), at }),
});
export const RepoDeactivated = z.object({
  type: z.literal('RepoDeactivated'),
  data: z.object({ repoId: z.string(), by: z.string(), at }),
});

export const RepoEvent = z.discriminatedUnion('type', [RepoActivated, RepoUpdated, RepoDeactivated]);
export type RepoEvent = z.infer<typeof RepoEvent>;
export const repoEventTypes = new Set(RepoEvent.options.map((option) => option.shape.type.value));
