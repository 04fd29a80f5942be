// Whether a build's end is worth an email: pure, from the build's status, the status of the
// previous ended build of the same ref, and the repo's (or the server's) `notify_on`.
//
// Drone's notification plugins decide with `when: status` and DRONE_PREV_BUILD_STATUS; the
// words here are theirs: `success`, `failure` (a failed or errored build) and `change`
// (the status differs from the previous build's on that ref). Killed and declined builds
// are someone's decision, not news: they never send an email and never count as "the
// previous build" for `change`.

export const NOTIFY_ON = ['success', 'failure', 'change'] as const;
export type NotifyOn = (typeof NOTIFY_ON)[number];

/** Ended statuses that say something about the code: the only ones mailed and compared. */
export const VERDICTS: readonly string[] = ['success', 'failure', 'error'];

/**
 * Why an email goes out for a build that ended with `status`, or undefined when none does.
 * `previous`: the status of the latest earlier build of the same ref that ended with a
 * verdict; undefined when there is none (a first build is not a change).
 */
export function emailReason(status: string, previous: string | undefined, on: readonly NotifyOn[]): NotifyOn | undefined {
  if (!VERDICTS.includes(status)) return undefined;
  const outcome: NotifyOn = status === 'success' ? 'success' : 'failure';
  if (on.includes(outcome)) return outcome;
  if (on.includes('change') && previous !== undefined && previous !== status) return 'change';
  return undefined;
}

/** A repo's settings over the server's: its own recipients when it has any; its own `notify_on` unless null. */
export function effectiveEmail(
  repo: { notifyEmail: readonly string[]; notifyOn: readonly NotifyOn[] | null },
  server: { recipients: readonly string[]; on: readonly NotifyOn[] },
): { recipients: readonly string[]; on: readonly NotifyOn[] } {
  return { recipients: repo.notifyEmail.length > 0 ? repo.notifyEmail : server.recipients, on: repo.notifyOn ?? server.on };
}
