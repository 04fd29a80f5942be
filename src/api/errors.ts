import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';

/**
 * One place maps every failure to an answer. Bad input is a 4xx that says what is wrong;
 * a rule violation carries its own status; only the truly unknown is a logged 500, and
 * even then the answer carries no stack trace.
 */
export class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 502 | 503,
    message: string,
    readonly code = 'bad_request',
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string) => new ApiError(404, `${what} not found`, 'not_found');

/** zod issues as one sentence naming each field: "timeout: expected number, received string". */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`)
    .join('; ');
}

type StatusError = Error & { status: number; code?: string };
const hasStatus = (error: unknown): error is StatusError =>
  error instanceof Error && typeof (error as { status?: unknown }).status === 'number';

export function errorResponse(error: unknown, c: Context, log: (message: string) => void = console.error) {
  if (error instanceof HTTPException) return c.json({ message: error.message || 'request refused' }, error.status);
  if (error instanceof z.ZodError) return c.json({ message: describeZodError(error), code: 'invalid' }, 400);
  if (hasStatus(error) && ((error.status >= 400 && error.status < 500) || (error instanceof ApiError && error.status >= 502))) {
    return c.json({ message: error.message, code: error.code ?? 'refused' }, error.status as 400);
  }
  log(`runlog: unexpected error on ${c.req.method} ${c.req.path}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return c.json({ message: 'internal error: the server logged the details' }, 500);
}
