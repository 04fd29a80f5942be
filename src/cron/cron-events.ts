import { z } from 'zod';

/**
 * A repository's cron jobs on one stream (`cron-<repo id>`): definitions and every fired
 * slot. `CronFired` is written before its build is created, with the build's id chosen
 * then, so a restart neither fires a slot twice (the decider refuses a slot already fired)
 * nor loses its build (the scheduler creates a recorded build that does not exist yet).
 */
export const cronStreamId = (repoId: string) => `cron-${repoId}`;

export const CronName = z
  .string()
  .min(1)
  .max(50)
  .regex(/^[A-Za-z0-9_.-]+$/, 'expected a cron name: letters, digits, "_", "." or "-"');

const at = z.string();
/** `next`: the slot the job fires at next, computed by the decider (null: never, or disabled). */
const next = z.string().nullable();
const definition = { expr: z.string(), branch: z.string(), disabled: z.boolean(), next };

export const CronCreated = z.object({
  type: z.literal('CronCreated'),
  data: z.object({ repoId: z.string(), name: z.string(), ...definition, by: z.string(), at }),
});
/** Carries the whole definition after the change, and the next slot counted from the change. */
export const CronUpdated = z.object({
  type: z.literal('CronUpdated'),
  data: z.object({ repoId: z.string(), name: z.string(), ...definition, by: z.string(), at }),
});
export const CronDeleted = z.object({
  type: z.literal('CronDeleted'),
  data: z.object({ repoId: z.string(), name: z.string(), by: z.string(), at }),
});
/** `scheduled`: the slot fired; `at`: when it fired; no `buildId` when it was skipped (`skipped` says why). */
export const CronFired = z.object({
  type: z.literal('CronFired'),
  data: z.object({ repoId: z.string(), name: z.string(), scheduled: z.string(), buildId: z.string().optional(), skipped: z.string().optional(), next, at }),
});

export const CronEvent = z.discriminatedUnion('type', [CronCreated, CronUpdated, CronDeleted, CronFired]);
export type CronEvent = z.infer<typeof CronEvent>;
export const cronEventTypes: ReadonlySet<string> = new Set(CronEvent.options.map((option) => option.shape.type.value));
