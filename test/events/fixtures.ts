import { Plan, type PlanInput } from '../../src/pipeline/plan.ts';
import type { BuildCommandInput } from '../../src/events/build-commands.ts';
import type { BuildEvent } from '../../src/events/build-events.ts';

/** Test plans built through `Plan.parse` (the compiler is not a dependency of these tests). */

export interface StepSpec {
  name: string;
  failure?: 'always' | 'ignore';
  retry?: { limit: number; exitCodes?: number[] };
  skip?: { condition: string; reason: string };
  detach?: boolean;
}
export interface StageSpec {
  name: string;
  dependsOn?: string[];
  runsOn?: Array<'success' | 'failure'>;
  skip?: { condition: string; reason: string };
  steps?: StepSpec[];
  services?: string[];
}

export function planOf(...stages: StageSpec[]): Plan {
  const input: PlanInput = {
    version: 1,
    stages: stages.map((stage, i) => {
      const services = (stage.services ?? []).map((name, j) => ({ number: j + 1, name, kind: 'service' as const, image: 'redis', detach: true }));
      const steps = (stage.steps ?? [{ name: 'build' }]).map((step, j) => ({
        number: services.length + j + 1,
        name: step.name,
        kind: 'step' as const,
        image: 'alpine',
        commands: ['true'],
        ...(step.failure ? { failure: step.failure } : {}),
        ...(step.retry ? { retry: step.retry } : {}),
        ...(step.skip ? { skip: step.skip } : {}),
        ...(step.detach ? { detach: true } : {}),
      }));
      return {
        number: i + 1,
        name: stage.name,
        type: 'docker' as const,
        platform: {},
        workspace: { path: '/drone/src' },
        clone: {},
        dependsOn: stage.dependsOn ?? [],
        ...(stage.runsOn ? { runsOn: stage.runsOn } : {}),
        ...(stage.skip ? { skip: stage.skip } : {}),
        services,
        steps,
      };
    }),
  };
  return Plan.parse(input);
}

/** `t(s)`: 2026-01-01T00:00:00Z plus `s` seconds, as ISO text. */
export const t = (seconds: number): string => new Date(Date.UTC(2026, 0, 1) + seconds * 1000).toISOString();

export const BUILD_ID = '7b1e6f0a-3c2d-4e5f-8a9b-0c1d2e3f4a5b';
export const SHA = 'a'.repeat(64);
export const LOG_SHA = 'b'.repeat(64);
export const runner = (n = 1) => ({ id: `runner-${n}`, name: `r${n}` });
export const lease = (stage: number, attempt = 1) => `lease-${stage}-${attempt}`;

type Extra = Record<string, unknown>;

/** Commands with sensible defaults; `extra` overrides any field. */
export const cmd = {
  create: (plan: Plan | undefined, extra: Extra = {}): BuildCommandInput => ({
    type: 'CreateBuild',
    data: {
      buildId: BUILD_ID,
      repoId: 'repo-1',
      repo: 'octo/hello',
      number: 7,
      trigger: { event: 'push', ref: 'refs/heads/main', branch: 'main', commit: 'c0ffee' },
      config: { path: '.drone.yml', sha256: SHA, text: 'kind: pipeline\n' },
      ...(plan ? { plan } : {}),
      createdBy: 'alice',
      at: t(0),
      ...extra,
    },
  }) as BuildCommandInput,
  approve: (at = t(1), by = 'bob'): BuildCommandInput => ({ type: 'ApproveBuild', data: { by, at } }),
  decline: (at = t(1), by = 'bob'): BuildCommandInput => ({ type: 'DeclineBuild', data: { by, at } }),
  claim: (stage: number, at: string, attempt = 1, r = runner(), leaseToken = lease(stage, attempt)): BuildCommandInput => ({
    type: 'ClaimStage',
    data: { stage, attempt, runner: r, leaseToken, at },
  }),
  start: (stage: number, at: string, leaseToken = lease(stage), extra: Extra = {}): BuildCommandInput =>
    ({ type: 'StartStage', data: { stage, leaseToken, timeoutMinutes: 60, at, ...extra } }) as BuildCommandInput,
  startStep: (stage: number, step: number, at: string, leaseToken = lease(stage)): BuildCommandInput => ({
    type: 'StartStep',
    data: { stage, step, leaseToken, at },
  }),
  finishStep: (stage: number, step: number, at: string, exitCode = 0, leaseToken = lease(stage), extra: Extra = {}): BuildCommandInput =>
    ({ type: 'FinishStep', data: { stage, step, leaseToken, exitCode, logSize: 12, logSha256: LOG_SHA, at, ...extra } }) as BuildCommandInput,
  skipStep: (stage: number, step: number, at: string, leaseToken = lease(stage)): BuildCommandInput => ({
    type: 'SkipStep',
    data: { stage, step, leaseToken, reason: { condition: 'status', reason: 'runs only on failure' }, at },
  }),
  retryStep: (stage: number, step: number, retry: number, exitCode: number, at: string, leaseToken = lease(stage)): BuildCommandInput => ({
    type: 'RetryStep',
    data: { stage, step, retry, exitCode, leaseToken, at },
  }),
  finishStage: (stage: number, at: string, leaseToken = lease(stage), extra: Extra = {}): BuildCommandInput =>
    ({ type: 'FinishStage', data: { stage, leaseToken, at, ...extra } }) as BuildCommandInput,
  cancel: (at: string, by = 'carol'): BuildCommandInput => ({ type: 'RequestCancel', data: { by, at } }),
  cancelStage: (stage: number, at: string, leaseToken: string | null = lease(stage)): BuildCommandInput => ({
    type: 'CancelStage',
    data: { stage, leaseToken, at },
  }),
  timeOut: (stage: number, at: string, leaseToken: string | null = lease(stage)): BuildCommandInput => ({
    type: 'TimeOutStage',
    data: { stage, leaseToken, at },
  }),
  inactive: (stage: number, at: string, lastActivityAt: string, limitSeconds = 900, leaseToken: string | null = lease(stage)): BuildCommandInput => ({
    type: 'MarkStageInactive',
    data: { stage, leaseToken, lastActivityAt, limitSeconds, at },
  }),
  expire: (stage: number, at: string, leaseToken = lease(stage), maxAttempts?: number): BuildCommandInput => ({
    type: 'ExpireLease',
    data: { stage, leaseToken, at, ...(maxAttempts ? { maxAttempts } : {}) },
  }),
  resume: (stage: number, at: string, fromStep: number, workspace: 'kept' | 'fresh', leaseToken: string): BuildCommandInput => ({
    type: 'ResumeStage',
    data: { stage, leaseToken, fromStep, workspace, timeoutMinutes: 60, at },
  }),
};

/** A stage run through to the end with every step passing (exit codes per step, default 0). */
export function runStage(stage: number, steps: number, from: number, exitCodes: number[] = []): BuildCommandInput[] {
  const out: BuildCommandInput[] = [cmd.claim(stage, t(from)), cmd.start(stage, t(from + 1))];
  for (let i = 1; i <= steps; i++) {
    out.push(cmd.startStep(stage, i, t(from + 1 + i)), cmd.finishStep(stage, i, t(from + 1 + i), exitCodes[i - 1] ?? 0));
  }
  out.push(cmd.finishStage(stage, t(from + steps + 2)));
  return out;
}

export const types = (events: BuildEvent[]) => events.map((e) => e.type);
