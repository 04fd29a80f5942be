import { serveCommand } from './serve.ts';

/** `runlog server`: the server against Postgres (RUNLOG_DATABASE_URL). */
export const run = (args: string[]) => serveCommand(args, 'server');
