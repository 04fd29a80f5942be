// The build-end email's words: pure, so what a user reads is tested without a mail server.
// The log tail comes from the log store, where the runner already masked the secrets; this
// module only cuts it down and strips terminal colour codes.

export type MailBuild = {
  number: number;
  status: string;
  event: string;
  target: string;
  after: string;
  message: string;
  author_name: string;
  author_login: string;
  error: string;
};

export type FailedStep = { stage: string; step: string; exitCode: number; logTail: readonly string[] };

export type MailInput = {
  slug: string;
  build: MailBuild;
  link: string;
  /** The first step that failed, with the end of its log; absent when none did (a config error, a cancel). */
  failed?: FailedStep;
  /** Why it was sent (`change`: the previous build of the ref ended otherwise). */
  reason: string;
  previousStatus?: string;
};

export const TAIL_LINES = 50;
const LINE_CHARS = 500;

/** `[runlog] owner/name #12 failure`: status last, so a mail filter can match it. */
export const mailSubject = (slug: string, number: number, status: string) => `[runlog] ${slug} #${number} ${status}`;

export function buildMail(input: MailInput): { subject: string; text: string } {
  const { build } = input;
  const lines = [
    `${input.slug} #${build.number}: ${build.status}${input.reason === 'change' && input.previousStatus ? ` (was ${input.previousStatus})` : ''}`,
    '',
    `Link:    ${input.link}`,
    `Event:   ${build.event}${build.target ? ` to ${build.target}` : ''}`,
    ...(build.after ? [`Commit:  ${build.after.slice(0, 12)}`] : []),
    ...(build.author_name || build.author_login ? [`Author:  ${build.author_name || build.author_login}`] : []),
    ...(build.message ? [`Message: ${build.message.split('\n')[0]!.slice(0, 200)}`] : []),
    ...(build.error ? ['', `Error: ${build.error}`] : []),
  ];
  if (input.failed) {
    const { stage, step, exitCode, logTail } = input.failed;
    lines.push('', `Failed step: ${step} (stage ${stage}, exit code ${exitCode})`);
    lines.push(logTail.length > 0 ? `Last ${logTail.length} line${logTail.length === 1 ? '' : 's'} of its log:` : 'Its log is empty.');
    lines.push(...logTail.map((line) => `  ${line}`));
  }
  return { subject: mailSubject(input.slug, build.number, build.status), text: `${lines.join('\n')}\n` };
}

// CSI sequences (colours, cursor moves) and OSC sequences (titles, links).
// eslint-disable-next-line no-control-regex
const TERMINAL_CODES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)/g;

/**
 * The last `count` lines of a log's end. `partialStart`: the text begins mid-log (only its
 * end was read), so its first line may be cut and is dropped.
 */
export function logTail(text: string, count = TAIL_LINES, partialStart = false): string[] {
  const lines = text.replace(TERMINAL_CODES, '').split('\n').map((line) => line.replace(/\r$/, '').replace(/^.*\r/, ''));
  if (partialStart) lines.shift();
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-count).map((line) => (line.length > LINE_CHARS ? `${line.slice(0, LINE_CHARS)}…` : line));
}
