// `runlog secret add|ls|rm`, against a server's API with Drone's JSON (`name`, `data`,
// `pull_request`), like `drone secret ...`. The value is never printed back: the server
// does not return it.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { UsageError } from '../audit/build-ref.ts';
import { reportFailure, usageFailure } from '../audit/cli-errors.ts';
import { openClient, parseSlug, repoPath, table } from './server-client.ts';

const usage = `usage: runlog secret <command> <owner/name> [...]

  add <owner/name> --name N --data VALUE [--allow-pull-request]   (--data @file reads a file)
  ls <owner/name>
  rm <owner/name> --name N

  --json            the server's JSON instead of text
  --server URL      default RUNLOG_SERVER, else http://localhost:8080
  --token TOKEN     default RUNLOG_TOKEN, else the admin token runlog serve saved in .runlog
`;

type Secret = { name: string; pull_request?: boolean; pull_request_push?: boolean };

const options = {
  json: { type: 'boolean' },
  server: { type: 'string' },
  token: { type: 'string' },
  name: { type: 'string' },
  data: { type: 'string' },
  'allow-pull-request': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function run(args: string[], io: { stdout?: NodeJS.WritableStream; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options });
  } catch (error) {
    return usageFailure('secret', (error as Error).message, usage);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    stdout.write(usage);
    return 0;
  }
  try {
    const [command, repoArg, nameArg, ...extra] = positionals;
    if (command === undefined) throw new UsageError(`expected a command: add, ls, rm\n\n${usage}`);
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const repo = parseSlug(repoArg);
    const client = openClient({ server: values.server, token: values.token }, io.env);
    const name = values.name ?? nameArg;
    const needName = () => {
      if (!name) throw new UsageError(`expected the secret's name: runlog secret ${command} ${repo.slug} --name <name>`);
      return name;
    };
    switch (command) {
      case 'add': {
        if (values.data === undefined) throw new UsageError('expected the value: --data <value>, or --data @file to read it from a file');
        const data = values.data.startsWith('@') ? await readValue(values.data.slice(1)) : values.data;
        const body = { name: needName(), data, pull_request: values['allow-pull-request'] === true };
        const { body: secret } = await client.request<Secret>('POST', `${repoPath(repo)}/secrets`, { json: body });
        stdout.write(values.json ? `${JSON.stringify(secret, null, 2)}\n` : `added secret ${secret?.name ?? body.name} to ${repo.slug}\n`);
        return 0;
      }
      case 'ls': {
        if (nameArg !== undefined) throw new UsageError(`unexpected argument '${nameArg}'`);
        const { body } = await client.request<Secret[]>('GET', `${repoPath(repo)}/secrets`);
        if (values.json) stdout.write(`${JSON.stringify(body, null, 2)}\n`);
        else if (body.length === 0) stdout.write(`no secrets in ${repo.slug}\n`);
        else stdout.write(table(['NAME', 'PULL REQUESTS'], body.map((s) => [s.name, s.pull_request ? 'allowed' : 'withheld'])));
        return 0;
      }
      case 'rm':
        await client.request('DELETE', `${repoPath(repo)}/secrets/${encodeURIComponent(needName())}`);
        stdout.write(`removed secret ${name} from ${repo.slug}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command '${command}': expected add, ls or rm`);
    }
  } catch (error) {
    return reportFailure('secret', error);
  }
}

async function readValue(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--data @${file}: cannot read it: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
