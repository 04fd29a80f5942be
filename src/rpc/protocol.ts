// The runner RPC's wire format, shared by the server's routes (src/rpc/routes.ts) and the
// runner's client (src/rpc/client.ts): zod is the one source of both sides' types.
import { z } from 'zod';
import { BuildCommand } from '../events/build-commands.ts';
import { RunnerRef, StageNumber, StepNumber } from '../events/build-events.ts';

export const BuildIdParam = z.uuid();

export const ClaimBody = z
  .object({ buildId: z.uuid(), stage: StageNumber, attempt: z.number().int().positive(), runner: RunnerRef })
  .strict();
export type ClaimBody = z.infer<typeof ClaimBody>;

/** Commands a runner may send: those about a stage it holds. Claims go through `claim` (they record the lease), the rest is the API's. */
export const RUNNER_COMMANDS = [
  'StartStage',
  'StartStep',
  'FinishStep',
  'SkipStep',
  'RetryStep',
  'FinishStage',
  'CancelStage',
  'TimeOutStage',
  'MarkStageInactive',
  'ExpireLease',
  'ResumeStage',
  'PublishImage',
  'RecordDeployment',
] as const;

export const CommandBody = z
  .object({
    command: BuildCommand.refine((command) => (RUNNER_COMMANDS as readonly string[]).includes(command.type), {
      message: `a runner may send only ${RUNNER_COMMANDS.join(', ')}`,
    }).refine((command) => typeof (command.data as { leaseToken?: unknown }).leaseToken === 'string', {
      message: 'a runner command carries the leaseToken of its claim',
      path: ['data', 'leaseToken'],
    }),
  })
  .strict();

export const LogBody = z
  .object({ stage: StageNumber, step: StepNumber, leaseToken: z.string().min(1), offset: z.number().int().nonnegative(), data: z.string() })
  .strict();

export const HeartbeatBody = z.object({ stage: StageNumber, leaseToken: z.string().min(1) }).strict();

/** What a runner reports of itself every few seconds (`POST /rpc/runners/report`): the row of `GET /api/runners`. */
export const RunnerReport = z
  .object({
    runner: RunnerRef,
    platform: z.object({ os: z.string().min(1), arch: z.string().min(1), variant: z.string().default(''), kernel: z.string().default('') }).strict(),
    engine: z.enum(['docker', 'exec', 'noop']).or(z.string().min(1).max(40)),
    labels: z.record(z.string(), z.string()).default({}),
    capacity: z.number().int().positive().max(1024),
    stages: z.array(z.object({ buildId: z.uuid(), stage: StageNumber, attempt: z.number().int().positive() }).strict()).max(1024).default([]),
    workspaces: z
      .array(z.object({ key: z.string().min(1).max(200), buildId: z.uuid(), stage: StageNumber, expiresAt: z.iso.datetime({ offset: true }) }).strict())
      .max(10_000)
      .default([]),
    version: z.string().max(40).default(''),
    startedAt: z.iso.datetime({ offset: true }),
  })
  .strict();
export type RunnerReport = z.infer<typeof RunnerReport>;
export type RunnerReportInput = z.input<typeof RunnerReport>;
