import { createHash } from 'node:crypto';
import type { CronEvent } from './cron-events.ts';
import { nextAfter, parseCron } from './cron-expression.ts';

/**
 * A repository's cron jobs, pure. Every event that moves a job's schedule carries its next
 * slot, computed here from the expression and the event's own time, so the view and the
 * scheduler never compute it twice. Missed slots: a job fires once for the slot that was
 * due (however many passed while the server was down — one catch-up run, like Drone and
 * Kubernetes' CronJob) and its next slot counts from the moment it fired.
 */
export type CronJob = { expr: string; branch: string; disabled: boolean; next: string | null };
export type CronState = { jobs: Record<string, CronJob> };

type Stamp = { repoId: string; name: string; by: string; at: string };
export type CronCommand =
  | { type: 'CreateCron'; data: Stamp & { expr: string; branch: string; disabled: boolean } }
  | { type: 'UpdateCron'; data: Stamp & { expr?: string; branch?: string; disabled?: boolean } }
  | { type: 'DeleteCron'; data: Stamp }
  /** `scheduled`: the slot the scheduler saw due; refused (no events) unless it is still the job's next slot. */
  | { type: 'FireCron'; data: { repoId: string; name: string; scheduled: string; at: string; skipped?: string } };

export class CronCommandRefused extends Error {
  override readonly name = 'CronCommandRefused';
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
    readonly code = status === 404 ? 'not_found' : status === 409 ? 'conflict' : 'bad_request',
  ) {
    super(message);
  }
}

export const initialCronState = (): CronState => ({ jobs: {} });

/** The slot after `at` for an enabled job; null when disabled or it never matches again. */
export function nextSlot(expr: string, disabled: boolean, at: string): string | null {
  if (disabled) return null;
  const parsed = parseCron(expr);
  if (!parsed.ok) return null;
  return nextAfter(parsed.schedule, new Date(at))?.toISOString() ?? null;
}

/** A fired slot's build id: the same for every replica and every retry of that slot. */
export function cronBuildId(repoId: string, name: string, scheduled: string): string {
  const hex = createHash('sha256').update(`cron:${repoId}:${name}:${scheduled}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function evolveCron(state: CronState, event: CronEvent): CronState {
  const { name } = event.data;
  switch (event.type) {
    case 'CronCreated':
    case 'CronUpdated': {
      const { expr, branch, disabled, next } = event.data;
      return { jobs: { ...state.jobs, [name]: { expr, branch, disabled, next } } };
    }
    case 'CronDeleted': {
      const { [name]: _gone, ...rest } = state.jobs;
      return { jobs: rest };
    }
    case 'CronFired': {
      const job = state.jobs[name];
      return job ? { jobs: { ...state.jobs, [name]: { ...job, next: event.data.next } } } : state;
    }
    default: {
      const never: never = event;
      return never;
    }
  }
}

export function decideCron(command: CronCommand, state: CronState): CronEvent[] {
  const { name, repoId, at } = command.data;
  const job = state.jobs[name];
  switch (command.type) {
    case 'CreateCron': {
      if (job) throw new CronCommandRefused(409, `cron job ${name} already exists: PATCH it to change it`);
      const parsed = parseCron(command.data.expr);
      if (!parsed.ok) throw new CronCommandRefused(400, `expr: ${parsed.error}`);
      return [{ type: 'CronCreated', data: { ...command.data, next: nextSlot(command.data.expr, command.data.disabled, at) } }];
    }
    case 'UpdateCron': {
      if (!job) throw new CronCommandRefused(404, `cron job ${name} not found`);
      const expr = command.data.expr ?? job.expr;
      const parsed = parseCron(expr);
      if (!parsed.ok) throw new CronCommandRefused(400, `expr: ${parsed.error}`);
      const disabled = command.data.disabled ?? job.disabled;
      const branch = command.data.branch ?? job.branch;
      return [{ type: 'CronUpdated', data: { repoId, name, expr, branch, disabled, next: nextSlot(expr, disabled, at), by: command.data.by, at } }];
    }
    case 'DeleteCron':
      if (!job) throw new CronCommandRefused(404, `cron job ${name} not found`);
      return [{ type: 'CronDeleted', data: command.data }];
    case 'FireCron': {
      const { scheduled, skipped } = command.data;
      if (!job || job.disabled || job.next !== scheduled || Date.parse(scheduled) > Date.parse(at)) return [];
      return [
        {
          type: 'CronFired',
          data: {
            repoId,
            name,
            scheduled,
            ...(skipped ? { skipped } : { buildId: cronBuildId(repoId, name, scheduled) }),
            next: nextSlot(job.expr, false, at),
            at,
          },
        },
      ];
    }
    default: {
      const never: never = command;
      return never;
    }
  }
}
