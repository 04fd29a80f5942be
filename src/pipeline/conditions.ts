import { z } from 'zod';
import { globMatch } from './glob.ts';
import type { Skip } from './plan.ts';
import type { CompileContext } from './trigger.ts';

/**
 * Drone's `when` (step) and `trigger` (pipeline) conditions.
 *
 * Matching is Drone's `Condition.Match` (runner-go manifest/cond.go, drone-yaml
 * yaml/cond.go): a value is refused when it matches any `exclude` pattern (exclude wins over
 * include), accepted when it matches any `include` pattern, and accepted when there is no
 * `include` at all — so an empty condition matches everything. Patterns are doublestar
 * globs (glob.ts) for every field.
 *
 * `status` is not evaluated here: it is a run-time policy (`runsOn`). `paths` is evaluated
 * when the forge told us which files changed, as the meltwater/drone-convert-pathschanged
 * extension does for Drone users (Drone itself never computes changed files).
 */

const patterns = z.union([z.string(), z.array(z.string())]).transform((v) => (typeof v === 'string' ? [v] : v));

/**
 * A string, a list, or `{ include, exclude }`; always `{ include, exclude }` once parsed.
 * runner-go reads a string as `include: [string]` and a list as the include list.
 */
export const Condition = z
  .union([
    z.string().transform((v) => ({ include: [v], exclude: [] as string[] })),
    z.array(z.string()).transform((v) => ({ include: v, exclude: [] as string[] })),
    z
      .object({ include: patterns.optional(), exclude: patterns.optional() })
      .strict()
      .transform((v) => ({ include: v.include ?? [], exclude: v.exclude ?? [] })),
  ]);
export type Condition = z.infer<typeof Condition>;
export type ConditionInput = z.input<typeof Condition>;

/** Every key Drone knows in `when:` and `trigger:`; anything else is reported by the caller's validation. */
export const Conditions = z
  .object({
    branch: Condition.optional(),
    event: Condition.optional(),
    ref: Condition.optional(),
    repo: Condition.optional(),
    instance: Condition.optional(),
    status: Condition.optional(),
    target: Condition.optional(),
    cron: Condition.optional(),
    action: Condition.optional(),
    paths: Condition.optional(),
  })
  .strict();
export type Conditions = z.infer<typeof Conditions>;
export type ConditionsInput = z.input<typeof Conditions>;

/** The facts a build offers to its conditions. */
export type ConditionFacts = {
  branch: string;
  event: string;
  ref: string;
  repo: string;
  instance: string;
  target: string;
  cron: string;
  action: string;
  /** Files the trigger changed; undefined when the forge did not say (then `paths` matches, as in Drone). */
  changedFiles?: string[];
};

export function factsFrom(ctx: CompileContext): ConditionFacts {
  const { trigger } = ctx;
  return {
    // Drone matches `branch` against build.Target: for a pull request the branch it merges into.
    branch: trigger.event === 'pull_request' ? trigger.targetBranch || trigger.branch : trigger.branch,
    event: trigger.event,
    ref: trigger.ref,
    repo: ctx.repo.slug,
    instance: ctx.system.host,
    target: trigger.deployTo,
    cron: trigger.cron,
    action: trigger.action,
    ...(trigger.changedFiles ? { changedFiles: trigger.changedFiles } : {}),
  };
}

/** Drone `Condition.Match`: exclude wins over include; no include means everything is included. */
export function conditionMatches(condition: Condition, value: string): boolean {
  if (condition.exclude.some((pattern) => globMatch(pattern, value))) return false;
  if (condition.include.length === 0) return true;
  return condition.include.some((pattern) => globMatch(pattern, value));
}

const list = (patterns: readonly string[]) => `[${patterns.join(', ')}]`;

type ValueField = Exclude<keyof ConditionFacts, 'changedFiles'>;

/**
 * The order conditions are checked in, so the reported one is stable: Drone's server checks
 * a trigger's branch, event, action, ref, repo, target and cron in that order
 * (drone/drone trigger/trigger.go); instance and paths come after.
 */
const valueFields: readonly ValueField[] = ['branch', 'event', 'action', 'ref', 'repo', 'target', 'cron', 'instance'];

function valueSkip(field: ValueField, condition: Condition, value: string): Skip | undefined {
  // Drone: exclude wins over include.
  if (condition.exclude.some((pattern) => globMatch(pattern, value))) {
    return { condition: field, reason: `${field} '${value}' matches exclude ${list(condition.exclude)}` };
  }
  if (condition.include.length > 0 && !condition.include.some((pattern) => globMatch(pattern, value))) {
    return { condition: field, reason: `${field} '${value}' does not match include ${list(condition.include)}` };
  }
  return undefined;
}

function pathsSkip(condition: Condition, changedFiles: readonly string[] | undefined): Skip | undefined {
  if (changedFiles === undefined) return undefined;
  if (condition.include.length === 0 && condition.exclude.length === 0) return undefined;
  // pathschanged: the step runs when at least one changed file passes Condition.Match.
  if (changedFiles.some((file) => conditionMatches(condition, file))) return undefined;
  const { include, exclude } = condition;
  const shown = changedFiles.slice(0, 3).join(', ') + (changedFiles.length > 3 ? `, and ${changedFiles.length - 3} more` : '');
  if (include.length === 0) {
    const reason = changedFiles.length === 0 ? 'no files changed' : `every changed file matches exclude ${list(exclude)} (changed: ${shown})`;
    return { condition: 'paths', reason };
  }
  const wanted = `matches include ${list(include)}` + (exclude.length > 0 ? ` without matching exclude ${list(exclude)}` : '');
  const reason = changedFiles.length === 0 ? `no files changed, so none ${wanted}` : `no changed file ${wanted} (changed: ${shown})`;
  return { condition: 'paths', reason };
}

/**
 * The first condition (other than `status`) that excludes the step or pipeline, as the
 * `Skip` the plan records; undefined when all of them match.
 */
export function evaluateConditions(conditions: Conditions, facts: ConditionFacts): Skip | undefined {
  for (const field of valueFields) {
    const condition = conditions[field];
    if (!condition) continue;
    const skip = valueSkip(field, condition, facts[field]);
    if (skip) return skip;
  }
  return conditions.paths ? pathsSkip(conditions.paths, facts.changedFiles) : undefined;
}

/** The values `status` may name; the caller reports any other. */
export const STATUS_VALUES = ['success', 'failure'] as const;
export type StatusValue = (typeof STATUS_VALUES)[number];

/**
 * Drone's `status` rule (drone-runner-docker engine/compiler/util.go `isRunAlways`,
 * `isRunOnFailure`): with no status, `fallback` (`[success]` for steps, as Drone runs a step
 * only while everything before it passed); when the condition accepts both `success` and
 * `failure` the step always runs; when it accepts `failure` it runs only after a failure;
 * otherwise it runs on success. A condition that accepts neither (`exclude: [success,
 * failure]`) falls back too, as Drone's step then keeps its default on-success policy.
 */
export function runsOn(status: Condition | undefined, fallback: StatusValue[]): StatusValue[] {
  if (!status || status.include.length + status.exclude.length === 0) return fallback;
  const onSuccess = conditionMatches(status, 'success');
  const onFailure = conditionMatches(status, 'failure');
  if (onSuccess && onFailure) return ['success', 'failure'];
  if (onFailure) return ['failure'];
  if (onSuccess) return ['success'];
  return fallback;
}
