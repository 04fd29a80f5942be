// A build as it stood at a moment of its history, and what changed between two moments.
// Pure: the events up to the moment are folded with the decider's own `evolve`
// (build-state.ts), and each stage's deadline and inactivity clock come from the runner's
// own replayed rules (runner/stage-rules.ts) — so the answer is what the server and the
// runner themselves would have concluded then, not a second reading of the log.
import { BuildEvent } from '../events/build-events.ts';
import { evolve, initialState, isBuild, type BuildState, type StageState } from '../events/build-state.ts';
import { isStageEnded, type BuildStatus, type StageStatus, type StepStatus } from '../events/build-status.ts';
import { DEFAULT_INACTIVITY_LIMIT_MS, nextRule, replayStage, type Rule } from '../runner/stage-rules.ts';
import type { HistoryEvent } from './history-event.ts';
import { eventsUpTo, momentTime, type Moment } from './moment.ts';

export interface StepSnapshot {
  readonly number: number;
  readonly name: string;
  readonly status: StepStatus;
  readonly exitCode: number | null;
  readonly retries: number;
  readonly error: string | null;
}

export interface StageClockSnapshot {
  /** First start + timeout; kept across attempts. */
  readonly deadline: string | null;
  /** The last recorded activity (log output, which only the runner sees, is not in the log). */
  readonly lastActivityAt: string | null;
  readonly inactivityLimitSeconds: number;
  /** Which rule would fire next, for a stage running at the moment. */
  readonly next: { readonly rule: Rule; readonly at: string; readonly inSeconds: number } | null;
}

export interface StageSnapshot {
  readonly number: number;
  readonly name: string;
  readonly status: StageStatus;
  readonly attempt: number;
  /** The live claim: who held the stage at the moment. */
  readonly heldBy: { readonly runnerId: string; readonly runnerName: string; readonly leaseToken: string; readonly since: string } | null;
  /** The last runner that claimed it (also after its lease ended). */
  readonly lastRunner: string | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly error: string | null;
  readonly clock: StageClockSnapshot;
  readonly steps: readonly StepSnapshot[];
}

export interface BuildSnapshot {
  /** Where the fold stopped: the last event included (null: none yet). */
  readonly upTo: { readonly position: string; readonly version: number; readonly type: string } | null;
  /** The clock reading of the moment: the time asked for, or the last included event's time. */
  readonly time: string | null;
  /** Events included, and in the whole stream as read. */
  readonly events: number;
  readonly totalEvents: number;
  /** null: the build did not exist yet at that moment. */
  readonly build: {
    readonly id: string;
    readonly repo: string;
    readonly number: number;
    readonly status: BuildStatus;
    readonly finished: boolean;
    readonly createdBy: string;
    readonly createdAt: string;
    readonly finishedAt: string | null;
    readonly error: string | null;
    readonly blocked: { readonly reason: string; readonly at: string } | null;
    readonly approvedBy: string | null;
    readonly declinedBy: string | null;
    readonly cancel: { readonly by: string; readonly at: string; readonly reason: string | null } | null;
  } | null;
  readonly stages: readonly StageSnapshot[];
}

/** A stored event does not match its type's schema: the build cannot be folded past it. */
export class ReplayError extends Error {
  override readonly name = 'ReplayError';
}

export interface ReplayOptions {
  /** The inactivity limit the runner applies; default the runner's (15 minutes). */
  readonly inactivityLimitMs?: number;
}

/** Validates a stored build event (the store holds JSON). */
export function parseBuildEvent(event: HistoryEvent): BuildEvent {
  const parsed = BuildEvent.safeParse({ type: event.type, data: event.data });
  if (!parsed.success) {
    throw new ReplayError(
      `event ${event.type} at ${event.streamId} version ${event.version} (position ${event.position}) is not a valid build event: ` +
        `${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'data'}: ${issue.message}`).join('; ')}. ` +
        'Run `runlog verify` to see whether the log was edited.',
    );
  }
  return parsed.data;
}

/** The build at `moment`: every event of its stream at or before it, folded. */
export function snapshotAt(stream: readonly HistoryEvent[], moment: Moment, options: ReplayOptions = {}): BuildSnapshot {
  const upTo = eventsUpTo(stream, moment);
  return snapshotOf(upTo, stream.length, momentTime(moment, upTo) ?? null, options);
}

/** The build after `events` (a stream's first events), with its clocks read at `time`. */
export function snapshotOf(events: readonly HistoryEvent[], totalEvents: number, time: string | null, options: ReplayOptions = {}): BuildSnapshot {
  const inactivityLimitMs = options.inactivityLimitMs ?? DEFAULT_INACTIVITY_LIMIT_MS;
  const typed = events.map(parseBuildEvent);
  let state: BuildState = initialState();
  for (const event of typed) state = evolve(state, event);
  const last = events[events.length - 1];
  const head = { upTo: last ? { position: last.position, version: last.version, type: last.type } : null, time, events: events.length, totalEvents };
  if (!isBuild(state)) return { ...head, build: null, stages: [] };
  const build = state;
  return {
    ...head,
    build: {
      id: build.buildId,
      repo: build.repo,
      number: build.number,
      status: build.status,
      finished: build.finished,
      createdBy: build.createdBy,
      createdAt: build.createdAt,
      finishedAt: build.finishedAt ?? null,
      error: build.error ?? null,
      blocked: build.block ? { reason: build.block.reason, at: build.block.at } : null,
      approvedBy: build.approved?.by ?? null,
      declinedBy: build.declined?.by ?? null,
      cancel: build.cancel ? { by: build.cancel.by, at: build.cancel.at, reason: build.cancel.reason ?? null } : null,
    },
    stages: build.stages.map((stage) => stageSnapshot(typed, stage, time, inactivityLimitMs)),
  };
}

function stageSnapshot(events: readonly BuildEvent[], stage: StageState, time: string | null, inactivityLimitMs: number): StageSnapshot {
  // The runner's own replay of the stage: the same fold, the same clock rules.
  const { clock } = replayStage(events, stage.number, { inactivityLimitMs });
  const next = stage.status === 'running' && time !== null ? nextRule(clock, new Date(time)) : undefined;
  return {
    number: stage.number,
    name: stage.name,
    status: stage.status,
    attempt: stage.attempt,
    heldBy: stage.claim
      ? { runnerId: stage.claim.runner.id, runnerName: stage.claim.runner.name, leaseToken: stage.claim.leaseToken, since: stage.claim.at }
      : null,
    lastRunner: stage.runner?.id ?? null,
    startedAt: stage.startedAt ?? null,
    finishedAt: stage.finishedAt ?? null,
    error: stage.error ?? null,
    clock: {
      deadline: clock.deadline?.toISOString() ?? null,
      lastActivityAt: clock.lastActivityAt?.toISOString() ?? null,
      inactivityLimitSeconds: Math.round(clock.inactivityLimitMs / 1000),
      next: next ? { rule: next.rule, at: next.at.toISOString(), inSeconds: Math.round(next.inMs / 1000) } : null,
    },
    steps: stage.steps.map((step) => ({
      number: step.number,
      name: step.name,
      status: step.status,
      exitCode: step.exitCode ?? null,
      retries: step.retries,
      error: step.error ?? null,
    })),
  };
}

// ---------------------------------------------------------------------------------------
// Diff

export interface SnapshotChange {
  /** 'build', 'stage 1 (build)', 'stage 1 (build) › step 2 (test)'. */
  readonly subject: string;
  readonly field: string;
  readonly before: unknown;
  readonly after: unknown;
}

/** Every field of the build, its stages and their steps that differs from `a` to `b`, in plan order. */
export function diffSnapshots(a: BuildSnapshot, b: BuildSnapshot): SnapshotChange[] {
  const changes: SnapshotChange[] = [];
  const compare = (subject: string, before: Record<string, unknown> | null | undefined, after: Record<string, unknown> | null | undefined, skip: ReadonlySet<string> = new Set()) => {
    const fields = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
    for (const field of fields) {
      if (skip.has(field)) continue;
      const x = before?.[field] ?? null;
      const y = after?.[field] ?? null;
      if (JSON.stringify(x) !== JSON.stringify(y)) changes.push({ subject, field, before: x, after: y });
    }
  };
  if ((a.build === null) !== (b.build === null)) {
    changes.push({ subject: 'build', field: 'exists', before: a.build !== null, after: b.build !== null });
  }
  compare('build', a.build, b.build);
  const stageNumbers = [...new Set([...a.stages, ...b.stages].map((s) => s.number))].sort((x, y) => x - y);
  for (const number of stageNumbers) {
    const before = a.stages.find((s) => s.number === number);
    const after = b.stages.find((s) => s.number === number);
    const subject = `stage ${number} (${(after ?? before)!.name})`;
    const flat = (stage: StageSnapshot | undefined) =>
      stage && {
        ...stage,
        heldBy: stage.heldBy ? `${stage.heldBy.runnerName} (${stage.heldBy.runnerId}) lease ${stage.heldBy.leaseToken}` : null,
        deadline: stage.clock.deadline,
        lastActivityAt: stage.clock.lastActivityAt,
        nextRule: stage.clock.next ? `${stage.clock.next.rule} at ${stage.clock.next.at}` : null,
      };
    compare(subject, flat(before), flat(after), new Set(['steps', 'clock', 'number', 'name']));
    const stepNumbers = [...new Set([...(before?.steps ?? []), ...(after?.steps ?? [])].map((s) => s.number))].sort((x, y) => x - y);
    for (const step of stepNumbers) {
      const x = before?.steps.find((s) => s.number === step);
      const y = after?.steps.find((s) => s.number === step);
      compare(`${subject} › step ${step} (${(y ?? x)!.name})`, x as unknown as Record<string, unknown>, y as unknown as Record<string, unknown>, new Set(['number', 'name']));
    }
  }
  return changes;
}

// ---------------------------------------------------------------------------------------
// Rendering

const time = (iso: string | null | undefined): string => (iso ? iso.replace('T', ' ').replace(/Z$/, '') : '-');

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return s % 60 === 0 ? `${s / 60}m` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  const minutes = Math.floor((s % 3600) / 60);
  return minutes === 0 ? `${Math.floor(s / 3600)}h` : `${Math.floor(s / 3600)}h ${String(minutes).padStart(2, '0')}m`;
}

/** Where a snapshot stands, in one line. */
export function describeSnapshotPoint(snapshot: BuildSnapshot): string {
  if (!snapshot.upTo) return 'before its first event';
  return `position ${snapshot.upTo.position} (${time(snapshot.time)} UTC), after event ${snapshot.events} of ${snapshot.totalEvents} (${snapshot.upTo.type})`;
}

export function formatSnapshot(snapshot: BuildSnapshot): string {
  const { build } = snapshot;
  if (!build) return `the build did not exist yet at that moment (${describeSnapshotPoint(snapshot)})\n`;
  const lines = [`${build.repo}#${build.number} at ${describeSnapshotPoint(snapshot)}`];
  const notes = [
    build.blocked && `blocked (${build.blocked.reason}) since ${time(build.blocked.at)}`,
    build.approvedBy && `approved by ${build.approvedBy}`,
    build.declinedBy && `declined by ${build.declinedBy}`,
    build.cancel && `cancel requested by ${build.cancel.by} at ${time(build.cancel.at)}${build.cancel.reason ? ` (${build.cancel.reason})` : ''}`,
    build.finishedAt && `finished ${time(build.finishedAt)}`,
    build.error && `error: ${build.error}`,
  ].filter(Boolean);
  lines.push(`build: ${build.status}${notes.length > 0 ? ` — ${notes.join('; ')}` : ''}`);
  const rows = snapshot.stages.map((stage) => [
    `${stage.number} ${stage.name}`,
    stage.status,
    String(stage.attempt),
    stage.heldBy ? `${stage.heldBy.runnerName} (${stage.heldBy.runnerId}) since ${time(stage.heldBy.since)}` : stage.lastRunner ? `none (last: ${stage.lastRunner})` : 'none',
    time(stage.clock.deadline),
    time(stage.clock.lastActivityAt),
    stage.clock.next
      ? `${stage.clock.next.rule} at ${time(stage.clock.next.at)} (${stage.clock.next.inSeconds === 0 ? 'due' : `in ${formatDuration(stage.clock.next.inSeconds)}`})`
      : isStageEnded(stage.status) ? 'ended' : '-',
  ]);
  const header = ['STAGE', 'STATUS', 'ATTEMPT', 'HELD BY', 'DEADLINE (UTC)', 'LAST ACTIVITY (UTC)', `NEXT RULE (inactivity limit ${formatDuration(snapshot.stages[0]?.clock.inactivityLimitSeconds ?? 0)})`];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  lines.push(line(header));
  snapshot.stages.forEach((stage, i) => {
    lines.push(line(rows[i]!));
    if (stage.error) lines.push(`    error: ${stage.error}`);
    for (const step of stage.steps) {
      const details = [
        step.exitCode === null ? '' : `exit ${step.exitCode}`,
        step.retries > 0 ? `${step.retries} retr${step.retries === 1 ? 'y' : 'ies'}` : '',
        step.error ? `error: ${step.error}` : '',
      ].filter(Boolean);
      lines.push(`    ${`${step.number} ${step.name}`.padEnd(22)} ${step.status.padEnd(8)} ${details.join(', ')}`.trimEnd());
    }
  });
  return `${lines.join('\n')}\n`;
}

const value = (v: unknown): string => (v === null || v === undefined ? '-' : typeof v === 'string' ? v : JSON.stringify(v));

export function formatDiff(a: BuildSnapshot, b: BuildSnapshot, changes: readonly SnapshotChange[], between: readonly string[] = []): string {
  const lines = [`from ${describeSnapshotPoint(a)}`, `  to ${describeSnapshotPoint(b)}`];
  if (between.length > 0) lines.push('', `${between.length} event${between.length === 1 ? '' : 's'} in between:`, ...between.map((line) => `  ${line}`));
  lines.push('');
  if (changes.length === 0) {
    lines.push('no change');
    return `${lines.join('\n')}\n`;
  }
  let subject = '';
  for (const change of changes) {
    if (change.subject !== subject) {
      subject = change.subject;
      lines.push(`${subject}:`);
    }
    lines.push(`  ${change.field}: ${value(change.before)} → ${value(change.after)}`);
  }
  return `${lines.join('\n')}\n`;
}
