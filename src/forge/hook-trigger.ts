import { z } from 'zod';
import { Trigger } from '../pipeline/trigger.ts';

/**
 * What a forge's webhook asks of runlog, whichever forge sent it: the one shape the three
 * payload parsers (github-hook.ts, gitea-hook.ts, gitlab-hook.ts) produce. Pure data:
 * parsing reads no network and no clock.
 * - `build`: a push, a tag or a pull request to build; `compare` names the commits whose
 *   changed files the forge's compare API gives when the payload did not list them all.
 * - `close`: a pull request was closed; its unfinished builds are cancelled.
 * - `ping`: the forge checks the hook; answered 200.
 * - `ignore`: nothing to build, and `reason` says why (in the answer).
 */
export const Forge = z.enum(['github', 'gitea', 'gitlab']);
export type Forge = z.infer<typeof Forge>;

const slug = z.string().regex(/^[^/\s]+(\/[^/\s]+)+$/, 'expected owner/name');

export const HookTrigger = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('build'),
    forge: Forge,
    slug,
    trigger: Trigger,
    compare: z.object({ base: z.string(), head: z.string(), pullRequest: z.number().int().positive().optional() }).optional(),
  }),
  z.object({ kind: z.literal('close'), forge: Forge, slug, pullRequest: z.number().int().positive(), ref: z.string() }),
  z.object({ kind: z.literal('ping'), forge: Forge, slug: slug.optional() }),
  z.object({ kind: z.literal('ignore'), forge: Forge, slug: slug.optional(), reason: z.string() }),
]);
export type HookTrigger = z.infer<typeof HookTrigger>;
export type HookTriggerInput = z.input<typeof HookTrigger>;

/** A payload that is not what its event header says: answered 400 with this message. */
export class HookPayloadError extends Error {
  override readonly name = 'HookPayloadError';
  readonly status = 400;
}

/** Reads `payload` with `schema`, or throws a HookPayloadError naming the first wrong field. */
export function payloadOf<T>(schema: z.ZodType<T>, payload: unknown, event: string): T {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new HookPayloadError(`${event} payload: ${issue.path.join('.') || 'body'}: ${issue.message}`);
}

export const ZERO_SHA = /^0+$/;

/** `refs/heads/main` → `main`; `refs/tags/v1` → `v1`. */
export const shortRef = (ref: string) => ref.replace(/^refs\/(heads|tags)\//, '');

/** Every file a list of commits added, changed or removed, once each, in order of appearance. */
export function filesOfCommits(commits: readonly { added?: string[] | null; modified?: string[] | null; removed?: string[] | null }[]): string[] {
  const files = new Set<string>();
  for (const commit of commits) for (const list of [commit.added, commit.modified, commit.removed]) for (const file of list ?? []) files.add(file);
  return [...files];
}

/**
 * Drone's skip rule: `[ci skip]` or `[skip ci]` (any case) in the commit message or pull
 * request title skips a push or pull request; tags always build.
 */
export function skipReason(trigger: Trigger): string | undefined {
  if (trigger.event === 'tag') return undefined;
  const text = `${trigger.message}\n${trigger.title}`.toLowerCase();
  for (const marker of ['[ci skip]', '[skip ci]']) if (text.includes(marker)) return `the commit message says ${marker}: no build`;
  return undefined;
}
