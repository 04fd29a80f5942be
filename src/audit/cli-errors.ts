// How the audit commands end on a failure: a message that says what to do, an exit code
// (2: the command line or the configuration is wrong; 1: anything else), never a stack trace.
import { ConfigError } from '../server/config.ts';
import { UsageError } from './build-ref.ts';
import { MomentError } from './moment.ts';

export function reportFailure(command: string, error: unknown, stderr: { write(text: string): unknown } = process.stderr): number {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof UsageError || error instanceof ConfigError || error instanceof MomentError) {
    stderr.write(`runlog ${command}: ${message}\n`);
    return 2;
  }
  stderr.write(`runlog ${command}: ${message}\n`);
  return 1;
}

/** `parseArgs` failures (unknown option, missing value) are usage errors. */
export function usageFailure(command: string, message: string, usage: string, stderr: { write(text: string): unknown } = process.stderr): number {
  stderr.write(`runlog ${command}: ${message}\n\n${usage}`);
  return 2;
}
