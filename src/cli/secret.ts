// `runlog secret add|ls|rm`, against a server's API with Drone's JSON (`name`, `data`,
// `pull_request`), like `drone secret ...`. The value is never printed back: the server
// does not return it.
import { readFile } from 'node:fs/promises';
import { UsageError } from '../audit/build-ref.ts';
import { CLIENT_FLAGS_USAGE, parseSlug, repoPath, runApiCommand } from './server-client.ts';

const usage = `usage: runlog secret <command> <owner/name> [...]

  add <owner/name> --name N --data VALUE [--allow-pull-request]   (--data @file reads a file)
  ls <owner/name>
  rm <owner/name> --name N

${CLIENT_FLAGS_USAGE}`;

type Secret = { name: string; pull_request?: boolean; pull_request_push?: boolean };

const options = {
  name: { type: 'string' },
  data: { type: 'string' },
  'allow-pull-request': { type: 'boolean' },
} as const;

export const run = (args: string[], io: { stdout?: NodeJS.WritableStream; env?: NodeJS.ProcessEnv } = {}): Promise<number> =>
  runApiCommand('secret', { args, options, usage }, io, async ({ values, positionals, connect, stdout, show, list }) => {
    const [command, repoArg, nameArg, ...extra] = positionals;
    if (command === undefined) throw new UsageError(`expected a command: add, ls, rm\n\n${usage}`);
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const repo = parseSlug(repoArg);
    const client = connect();
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
        show(secret, `added secret ${secret?.name ?? body.name} to ${repo.slug}\n`);
        return 0;
      }
      case 'ls': {
        if (nameArg !== undefined) throw new UsageError(`unexpected argument '${nameArg}'`);
        const { body } = await client.request<Secret[]>('GET', `${repoPath(repo)}/secrets`);
        list(body, `no secrets in ${repo.slug}\n`, ['NAME', 'PULL REQUESTS'], (s) => [s.name, s.pull_request ? 'allowed' : 'withheld']);
        return 0;
      }
      case 'rm':
        await client.request('DELETE', `${repoPath(repo)}/secrets/${encodeURIComponent(needName())}`);
        stdout.write(`removed secret ${name} from ${repo.slug}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command '${command}': expected add, ls or rm`);
    }
  });

async function readValue(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--data @${file}: cannot read it: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
