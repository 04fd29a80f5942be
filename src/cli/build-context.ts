import { BuildEvent } from '../pipeline/trigger.ts';
import type { CompileContextInput } from '../pipeline/trigger.ts';

/**
 * The build `runlog lint` and `runlog plan` pretend happened, from command-line flags:
 * a push to `main` unless told otherwise, filled in the way a forge would (a tag sets the
 * `tag` event and `refs/tags/...`, a pull request targets the branch). The repository is
 * trusted unless `--untrusted`: trust is a repository setting, not something the file
 * can be wrong about.
 */
export interface BuildFlags {
  event?: string;
  branch?: string;
  ref?: string;
  commit?: string;
  tag?: string;
  repo?: string;
  action?: string;
  target?: string;
  cron?: string;
  untrusted?: boolean;
}

/** The `parseArgs` options of the trigger flags, shared by every command that takes them. */
export const triggerFlagOptions = {
  event: { type: 'string' },
  branch: { type: 'string' },
  ref: { type: 'string' },
  commit: { type: 'string' },
  tag: { type: 'string' },
  repo: { type: 'string' },
  action: { type: 'string' },
  target: { type: 'string' },
  cron: { type: 'string' },
} as const;

export type BuildContextResult = { ok: true; context: CompileContextInput } | { ok: false; message: string };

export function buildContext(flags: BuildFlags, now: Date): BuildContextResult {
  const event = flags.event ?? (flags.tag ? 'tag' : flags.target ? 'promote' : flags.cron ? 'cron' : 'push');
  const parsedEvent = BuildEvent.safeParse(event);
  if (!parsedEvent.success) return { ok: false, message: `--event '${event}' is not an event; use one of ${BuildEvent.options.join(', ')}` };
  const slug = flags.repo ?? 'local/repository';
  const [owner, name, ...rest] = slug.split('/');
  if (!owner || !name || rest.length > 0) return { ok: false, message: `--repo '${slug}' is not owner/name` };
  const branch = flags.branch ?? (parsedEvent.data === 'tag' ? '' : 'main');
  const tag = flags.tag?.replace(/^refs\/tags\//, '');
  const ref =
    flags.ref ??
    (tag ? `refs/tags/${tag}` : parsedEvent.data === 'pull_request' ? 'refs/pull/1/head' : `refs/heads/${branch || 'main'}`);
  const pullRequest = parsedEvent.data === 'pull_request';
  return {
    ok: true,
    context: {
      trigger: {
        event: parsedEvent.data,
        action: flags.action ?? (pullRequest ? 'opened' : ''),
        ref,
        branch,
        sourceBranch: pullRequest ? 'feature' : '',
        targetBranch: pullRequest ? branch : '',
        commit: flags.commit ?? '0000000000000000000000000000000000000000',
        deployTo: flags.target ?? '',
        cron: flags.cron ?? '',
        ...(pullRequest ? { pullRequest: 1 } : {}),
      },
      repo: { owner, name, slug: `${owner}/${name}`, trusted: !flags.untrusted },
      build: { number: 1, createdAt: now.toISOString() },
    },
  };
}
