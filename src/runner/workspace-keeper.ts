import type { EngineWorkspaces } from './engine.ts';

/**
 * The workspaces a runner keeps after a stage failed, so a restart from a step can run on
 * them (`POST .../builds/{n}/restart`). State is the runner's memory: a runner that
 * restarts sweeps its engine's leftovers at start-up, and with them its kept workspaces —
 * a restart then finds none and runs the stage whole, as it does once one expired.
 *
 * Lifecycle of one workspace: `keep` when its stage ended failed (expires `retentionMs`
 * later) → `take` when a restart's stage is claimed here (no longer listed or swept while
 * it runs; kept again if it fails again) → removed by `sweep` once expired.
 */
export type WorkspaceKeeper = {
  readonly retentionMs: number;
  keep(workspace: { key: string; buildId: string; stage: number }): void;
  /** Reserves a kept, unexpired workspace for a stage about to run on it; false when there is none. */
  take(key: string): Promise<boolean>;
  /** What is kept now, for the runner's report (`GET /api/runners`). */
  list(): KeptWorkspace[];
  /** Removes the expired workspaces from the engine; resolves with their keys. */
  sweep(): Promise<string[]>;
};

export type KeptWorkspace = { key: string; buildId: string; stage: number; expiresAt: string };

export function createWorkspaceKeeper(options: { workspaces: EngineWorkspaces; retentionMs: number; now?: () => Date }): WorkspaceKeeper {
  const { workspaces, retentionMs } = options;
  const now = options.now ?? (() => new Date());
  const kept = new Map<string, KeptWorkspace>();
  const expired = (workspace: KeptWorkspace) => Date.parse(workspace.expiresAt) <= now().getTime();
  return {
    retentionMs,
    keep({ key, buildId, stage }) {
      if (retentionMs <= 0) return;
      kept.set(key, { key, buildId, stage, expiresAt: new Date(now().getTime() + retentionMs).toISOString() });
    },
    async take(key) {
      const workspace = kept.get(key);
      if (!workspace || expired(workspace)) return false;
      kept.delete(key);
      return workspaces.has(key);
    },
    list: () => [...kept.values()].filter((workspace) => !expired(workspace)),
    async sweep() {
      const removed: string[] = [];
      for (const workspace of [...kept.values()]) {
        if (!expired(workspace)) continue;
        kept.delete(workspace.key);
        try {
          await workspaces.remove(workspace.key);
          removed.push(workspace.key);
        } catch {
          // Left for the engine's sweep at the runner's next start.
        }
      }
      return removed;
    },
  };
}

/**
 * `RUNLOG_WORKSPACE_RETENTION`: `30m`, `1h`, `90s`, `2d`, or bare seconds (`1800`); `0`
 * keeps nothing. Returns milliseconds; throws a TypeError naming what is accepted.
 */
export function parseRetention(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$/i.exec(text);
  if (!match) throw new TypeError(`expected a duration like 30m, 1h, 90s or a number of seconds, got ${JSON.stringify(text.slice(0, 40))}`);
  const unit = (match[2] ?? 's').toLowerCase() as 's' | 'm' | 'h' | 'd';
  const ms = Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit];
  if (!Number.isFinite(ms) || ms > 365 * 86_400_000) throw new TypeError(`the retention must be at most a year, got ${JSON.stringify(text.slice(0, 40))}`);
  return Math.round(ms);
}

export const DEFAULT_WORKSPACE_RETENTION_MS = 30 * 60_000;

/** The retention from the environment (default 30 minutes). */
export const retentionFromEnv = (env: Record<string, string | undefined> = process.env): number =>
  env.RUNLOG_WORKSPACE_RETENTION === undefined || env.RUNLOG_WORKSPACE_RETENTION === ''
    ? DEFAULT_WORKSPACE_RETENTION_MS
    : parseRetention(env.RUNLOG_WORKSPACE_RETENTION);
