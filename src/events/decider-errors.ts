/**
 * A command the build's current state does not allow. Deciders throw it; the API's one
 * error handler maps it to `status` with `{ code, message }`. Anything else a decider
 * throws is a bug.
 */
export type IllegalCommandCode =
  | 'build_not_found'
  | 'build_exists'
  | 'build_finished'
  | 'build_not_blocked'
  | 'build_blocked'
  | 'cancel_requested'
  | 'cancel_already_requested'
  | 'unknown_command'
  | 'unknown_stage'
  | 'unknown_step'
  | 'stage_not_pending'
  | 'stage_already_claimed'
  | 'stale_attempt'
  | 'stage_not_claimed'
  | 'stage_already_started'
  | 'stage_not_running'
  | 'stage_ended'
  | 'stale_lease'
  | 'step_not_pending'
  | 'step_not_running'
  | 'step_running'
  | 'retry_not_allowed'
  | 'resume_gap'
  | 'resume_not_restart'
  | 'bad_restart'
  | 'deadline_not_reached'
  | 'not_inactive';

/** 404 for what does not exist, 403 for a fenced-off runner, 400 for nonsense, 409 for every other state conflict. */
const statusOf = (code: IllegalCommandCode): 400 | 403 | 404 | 409 => {
  switch (code) {
    case 'build_not_found':
    case 'unknown_stage':
    case 'unknown_step':
      return 404;
    case 'stale_lease':
      return 403;
    case 'unknown_command':
    case 'bad_restart':
      return 400;
    default:
      return 409;
  }
};

export class IllegalCommand extends Error {
  override readonly name = 'IllegalCommand';
  readonly status: 400 | 403 | 404 | 409;
  constructor(
    readonly code: IllegalCommandCode,
    message: string,
  ) {
    super(message);
    this.status = statusOf(code);
  }
}

export const isIllegalCommand = (error: unknown): error is IllegalCommand => error instanceof IllegalCommand;
