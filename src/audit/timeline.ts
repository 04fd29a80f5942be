// A build's history as a timeline an auditor or an on-call engineer reads: one entry per
// event with its time, position, type, the stage and step it concerns (by their names in the
// plan `BuildCreated` recorded), who caused it (actor, or the runner), and the fields that
// matter for that type. Pure: `runlog events` and its `--json` both come from here.
import { eventTime, historyEventJson, type HistoryEvent } from './history-event.ts';

/** Stage and step names from the build's plan, by number. */
export interface PlanNames {
  stage(number: number): string | undefined;
  step(stage: number, step: number): string | undefined;
}

export interface TimelineEntry {
  /** When it happened (ISO), see `eventTime`. */
  readonly at: string;
  readonly position: string;
  readonly version: number;
  readonly type: string;
  readonly stage?: number;
  readonly stageName?: string;
  readonly step?: number;
  readonly stepName?: string;
  /** `actor` metadata: the user or service that issued the command. */
  readonly actor?: string;
  /** The runner that reported it (`runnerId` metadata), else the runner the event names. */
  readonly runner?: string;
  /** Who caused it, for the BY column: the reporting runner, else the actor, else the runner named. */
  readonly by: string;
  /** The essential fields in words. */
  readonly summary: string;
}

type Data = Record<string, unknown>;
type PlanLike = { stages?: Array<{ number?: unknown; name?: unknown; steps?: unknown; services?: unknown }> };

const noNames: PlanNames = { stage: () => undefined, step: () => undefined };

/** Names from the first `BuildCreated` among `events` (none for other streams or a build without a plan). */
export function planNamesOf(events: readonly HistoryEvent[]): PlanNames {
  const created = events.find((event) => event.type === 'BuildCreated');
  const plan = (created?.data as { plan?: PlanLike } | undefined)?.plan;
  if (!plan || !Array.isArray(plan.stages)) return noNames;
  const stages = new Map<number, { name: string; steps: Map<number, string> }>();
  for (const stage of plan.stages) {
    if (typeof stage.number !== 'number') continue;
    const steps = new Map<number, string>();
    for (const step of [...asArray(stage.services), ...asArray(stage.steps)]) {
      const { number, name } = step as { number?: unknown; name?: unknown };
      if (typeof number === 'number' && typeof name === 'string') steps.set(number, name);
    }
    stages.set(stage.number, { name: String(stage.name ?? stage.number), steps });
  }
  return {
    stage: (number) => stages.get(number)?.name,
    step: (stage, step) => stages.get(stage)?.steps.get(step),
  };
}

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

export function timelineEntry(event: HistoryEvent, names: PlanNames): TimelineEntry {
  const data = (event.data ?? {}) as Data;
  const stage = typeof data.stage === 'number' ? data.stage : undefined;
  const step = typeof data.step === 'number' ? data.step : undefined;
  const actor = typeof event.metadata.actor === 'string' ? event.metadata.actor : undefined;
  const namedRunner = (data.runner as { id?: unknown } | undefined)?.id;
  const reporter = typeof event.metadata.runnerId === 'string' ? event.metadata.runnerId : undefined;
  const runner = reporter ?? (typeof namedRunner === 'string' ? namedRunner : undefined);
  // A runner that reported the event caused it; otherwise the actor did (the reaper expiring a
  // runner's lease is the reaper's act, not the runner's), else the runner the event names.
  const by = reporter !== undefined ? `runner ${reporter}` : (actor ?? (runner !== undefined ? `runner ${runner}` : ''));
  const stageName = stage === undefined ? undefined : names.stage(stage);
  const stepName = stage === undefined || step === undefined ? undefined : names.step(stage, step);
  return {
    at: eventTime(event),
    position: event.position,
    version: event.version,
    type: event.type,
    ...(stage === undefined ? {} : { stage }),
    ...(stageName === undefined ? {} : { stageName }),
    ...(step === undefined ? {} : { step }),
    ...(stepName === undefined ? {} : { stepName }),
    ...(actor === undefined ? {} : { actor }),
    ...(runner === undefined ? {} : { runner }),
    by,
    summary: summarize(event.type, data, names),
  };
}

export const timeline = (events: readonly HistoryEvent[]): TimelineEntry[] => {
  const names = planNamesOf(events);
  return events.map((event) => timelineEntry(event, names));
};

const short = (hash: unknown) => (typeof hash === 'string' ? hash.slice(0, 12) : '?');
const bytes = (n: unknown) => {
  if (typeof n !== 'number') return '?';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
};
const runnerWords = (runner: unknown) => {
  const r = runner as { id?: unknown; name?: unknown } | undefined;
  if (!r) return 'an unknown runner';
  return r.name && r.name !== r.id ? `${String(r.name)} (${String(r.id)})` : String(r.id);
};
const reasonWords = (reason: unknown) => {
  const r = reason as { condition?: unknown; reason?: unknown } | undefined;
  return r ? `${String(r.condition ?? '?')}: ${String(r.reason ?? '')}` : '';
};
const withError = (text: string, error: unknown) => (typeof error === 'string' && error !== '' ? `${text}: ${error}` : text);

/** The fields that matter for each type, in words; other types show their data as JSON. */
export function summarize(type: string, data: Data, names: PlanNames = noNames): string {
  switch (type) {
    case 'BuildCreated': {
      const trigger = (data.trigger ?? {}) as Data;
      const plan = data.plan as PlanLike | undefined;
      const commit = String(trigger.after || trigger.commit || '').slice(0, 10);
      const stages = plan?.stages ? `${plan.stages.length} stage${plan.stages.length === 1 ? '' : 's'}` : `no plan: ${String(data.error ?? 'the config did not compile')}`;
      const parent = typeof data.parent === 'number' ? `, restarts #${data.parent}` : '';
      return `${String(data.repo)}#${String(data.number)} ${String(trigger.event)} ${String(trigger.ref)} ${commit} by ${String(data.createdBy)}; ${stages}; config ${String((data.config as Data | undefined)?.path)} sha256 ${short((data.config as Data | undefined)?.sha256)}${parent}`;
    }
    case 'BuildBlocked':
      return `waits for approval (${String(data.reason)})${typeof data.message === 'string' ? `: ${data.message}` : ''}`;
    case 'BuildApproved':
      return `approved by ${String(data.by)}`;
    case 'BuildDeclined':
      return `declined by ${String(data.by)}`;
    case 'StageQueued':
      return `queued, attempt ${String(data.attempt)}`;
    case 'StageSkipped':
      return `skipped (${reasonWords(data.reason)})`;
    case 'StageClaimed':
      return `claimed by ${runnerWords(data.runner)}, attempt ${String(data.attempt)}, lease ${String(data.leaseToken)}`;
    case 'StageStarted': {
      const deadline = typeof data.at === 'string' && typeof data.timeoutMinutes === 'number'
        ? `, deadline ${new Date(Date.parse(data.at) + data.timeoutMinutes * 60_000).toISOString()} unless an earlier start set it`
        : '';
      return `started on ${runnerWords(data.runner)}, attempt ${String(data.attempt)}, timeout ${String(data.timeoutMinutes)}m${deadline}${data.workspace ? `, workspace ${String(data.workspace)}` : ''}`;
    }
    case 'StepStarted':
      return `started, attempt ${String(data.attempt)}`;
    case 'StepFinished': {
      const log = data.logSha256 === undefined ? 'log not reported (recorded by the server)' : `log ${bytes(data.logSize)} sha256 ${short(data.logSha256)}`;
      const took = typeof data.durationMs === 'number' ? `, took ${(data.durationMs / 1000).toFixed(1)} s` : '';
      return withError(`${String(data.status)}, exit code ${String(data.exitCode)}, ${log}${took}`, data.error);
    }
    case 'StepSkipped':
      return `skipped (${reasonWords(data.reason)})`;
    case 'StepRetried':
      return `retry ${String(data.retry)} after exit code ${String(data.exitCode)}`;
    case 'StageFinished':
      return withError(`${String(data.status)}, attempt ${String(data.attempt)}`, data.error);
    case 'CancelRequested':
      return `cancel requested by ${String(data.by)}${typeof data.reason === 'string' ? `: ${data.reason}` : ''}`;
    case 'StageCancelled':
      return data.attempt === undefined ? 'cancelled before any runner claimed it' : `cancelled, attempt ${String(data.attempt)}`;
    case 'StageTimedOut':
      return `timed out: past its deadline ${String(data.deadline)}, attempt ${String(data.attempt)}`;
    case 'StageInactive':
      return `stopped for inactivity: nothing for ${String(data.limitSeconds)}s since ${String(data.lastActivityAt)}, attempt ${String(data.attempt)}`;
    case 'StageLeaseExpired':
      return `lease ${String(data.leaseToken)} of ${runnerWords(data.runner)} expired (no heartbeat), attempt ${String(data.attempt)}`;
    case 'StageRequeued':
      return `requeued as attempt ${String(data.attempt)}`;
    case 'StageResumed': {
      const from = typeof data.stage === 'number' && typeof data.fromStep === 'number' ? names.step(data.stage, data.fromStep) : undefined;
      const kept = Array.isArray(data.keptSteps) && data.keptSteps.length > 0 ? `, ${data.keptSteps.length === 1 ? 'step' : 'steps'} ${data.keptSteps.join(', ')} kept (not run again)` : '';
      return `resumed from step ${String(data.fromStep)}${from ? ` (${from})` : ''}, workspace ${String(data.workspace)}${kept}, attempt ${String(data.attempt)}`;
    }
    case 'BuildFinished':
      return `build ${String(data.status)}`;
    case 'StepLogPurged':
      return `log purged by ${String(data.by)} (its size and sha256 stay in StepFinished)`;
    default: {
      const { at: _at, ...rest } = data;
      void _at;
      return JSON.stringify(rest);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Rendering

/** `2026-01-01 12:00:05.123` (UTC, as the header says). */
export const formatTime = (iso: string): string => iso.replace('T', ' ').replace(/Z$/, '');

const where = (entry: TimelineEntry): string => {
  if (entry.stage === undefined) return '';
  const stage = entry.stageName ?? `stage ${entry.stage}`;
  if (entry.step === undefined) return stage;
  return `${stage} › ${entry.stepName ?? `step ${entry.step}`}`;
};

// Fixed widths, so `--follow` can print each entry as it comes and the columns still line up.
const WIDTHS = { at: 23, position: 8, type: 17, where: 22, who: 16 };

export const TIMELINE_HEADER = row('TIME (UTC)', 'POSITION', 'EVENT', 'STAGE › STEP', 'BY', 'DETAILS');

function row(at: string, position: string, type: string, place: string, by: string, details: string): string {
  return [
    at.padEnd(WIDTHS.at),
    position.padStart(WIDTHS.position),
    type.padEnd(WIDTHS.type),
    place.padEnd(WIDTHS.where),
    by.padEnd(WIDTHS.who),
    details,
  ].join('  ');
}

/** One line of the text timeline (no newline). */
export const formatEntry = (entry: TimelineEntry): string =>
  row(formatTime(entry.at), entry.position, entry.type, where(entry), entry.by, entry.summary).trimEnd();

/**
 * One NDJSON object of `runlog events --json`: the stored event in its wire form plus what
 * the timeline worked out (names, who, summary), so a machine needs neither the plan nor a
 * second lookup.
 */
export function entryJson(event: HistoryEvent, entry: TimelineEntry): Record<string, unknown> {
  return {
    ...historyEventJson(event),
    at: entry.at,
    ...(entry.stage === undefined ? {} : { stage: entry.stage, stage_name: entry.stageName ?? null }),
    ...(entry.step === undefined ? {} : { step: entry.step, step_name: entry.stepName ?? null }),
    actor: entry.actor ?? null,
    runner: entry.runner ?? null,
    by: entry.by,
    summary: entry.summary,
  };
}
