// `runlog repo add|info|ls|update|rm`, against a server's API, like `drone repo ...`.
import { UsageError } from '../audit/build-ref.ts';
import { CLIENT_FLAGS_USAGE, parseNumber, parseSlug, repoPath, runApiCommand, when } from './server-client.ts';

const usage = `usage: runlog repo <command> [...]

  add <owner/name> [settings]      activate a repository
  update <owner/name> [settings]   change some of its settings
  info <owner/name>
  ls                               the repositories you can see
  rm <owner/name>                  deactivate it (its builds and history stay)

settings: --clone-url URL --default-branch B --config-path P --timeout MINUTES
          --trusted[=false] --protected[=false] --visibility public|private|internal
          --registry HOST[:PORT]   where a caicloud.yml's image is pushed ('' none)
          --notify-email A,B       build-end email recipients ('' the server's)
          --notify-on WHEN         some of success,failure,change ('' never, 'default' the server's)
          --notify-webhook URL     gets each build end as a POST ('' none; its secret: PATCH the API)

${CLIENT_FLAGS_USAGE}`;

type Repo = {
  slug: string;
  active: boolean;
  visibility: string;
  default_branch: string;
  git_http_url: string;
  config_path: string;
  timeout: number;
  trusted: boolean;
  protected: boolean;
  counter: number;
  created: number;
  registry?: string;
  /** Admins only. */
  notify_email?: string[];
  notify_on?: string[] | null;
  notify_webhook?: string;
};

const options = {
  'clone-url': { type: 'string' },
  'default-branch': { type: 'string' },
  'config-path': { type: 'string' },
  timeout: { type: 'string' },
  trusted: { type: 'string' },
  protected: { type: 'string' },
  visibility: { type: 'string' },
  registry: { type: 'string' },
  'notify-email': { type: 'string' },
  'notify-on': { type: 'string' },
  'notify-webhook': { type: 'string' },
} as const;

export function run(args: string[], io: { stdout?: NodeJS.WritableStream; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  // `--trusted` alone means true, as a flag would.
  const normalized = args.map((arg) => (arg === '--trusted' || arg === '--protected' ? `${arg}=true` : arg));
  return runApiCommand('repo', { args: normalized, options, usage }, io, async ({ values, positionals, connect, show, list }) => {
    const [command, ...rest] = positionals;
    if (command === undefined) throw new UsageError(`expected a command: add, update, info, ls, rm\n\n${usage}`);
    const want = command === 'ls' ? 0 : 1;
    if (rest.length > want) throw new UsageError(`unexpected argument '${rest[want]}'`);
    const client = connect();
    const out = (repo: Repo) => show(repo, describe(repo));
    switch (command) {
      case 'add':
      case 'update': {
        const repo = parseSlug(rest[0]);
        const { body } = await client.request<Repo>(command === 'add' ? 'POST' : 'PATCH', repoPath(repo), { json: settings(values) });
        out(body);
        return 0;
      }
      case 'info':
        out((await client.request<Repo>('GET', repoPath(parseSlug(rest[0])))).body);
        return 0;
      case 'rm':
        out((await client.request<Repo>('DELETE', repoPath(parseSlug(rest[0])))).body);
        return 0;
      case 'ls': {
        const { body } = await client.request<Repo[]>('GET', '/api/user/repos');
        list(body, 'no repositories: add one with runlog repo add <owner/name>\n', ['REPOSITORY', 'VISIBILITY', 'BRANCH', 'BUILDS'], (r) => [r.slug, r.visibility, r.default_branch, String(r.counter ?? 0)]);
        return 0;
      }
      default:
        throw new UsageError(`unknown command '${command}': expected add, update, info, ls or rm`);
    }
  });
}

function settings(values: Record<string, string | boolean | undefined>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const bool = (name: string) => {
    const value = values[name];
    if (value === undefined) return undefined;
    if (value === 'true' || value === 'false') return value === 'true';
    throw new UsageError(`--${name} expects true or false, got ${JSON.stringify(value)}`);
  };
  if (values['clone-url'] !== undefined) body.clone_url = values['clone-url'];
  if (values['default-branch'] !== undefined) body.default_branch = values['default-branch'];
  if (values['config-path'] !== undefined) body.config_path = values['config-path'];
  if (values.timeout !== undefined) body.timeout = parseNumber(String(values.timeout), '--timeout in minutes');
  if (bool('trusted') !== undefined) body.trusted = bool('trusted');
  if (bool('protected') !== undefined) body.protected = bool('protected');
  if (values.visibility !== undefined) body.visibility = values.visibility;
  const list = (name: string) => String(values[name]).split(',').map((item) => item.trim()).filter((item) => item !== '');
  if (values.registry !== undefined) body.registry = values.registry;
  if (values['notify-email'] !== undefined) body.notify_email = list('notify-email');
  if (values['notify-on'] !== undefined) body.notify_on = values['notify-on'] === 'default' ? null : list('notify-on');
  if (values['notify-webhook'] !== undefined) body.notify_webhook = values['notify-webhook'];
  return body;
}

function describe(repo: Repo): string {
  return [
    `Repository: ${repo.slug}${repo.active ? '' : ' (inactive)'}`,
    `Clone URL:  ${repo.git_http_url || '-'}`,
    `Branch:     ${repo.default_branch}`,
    `Config:     ${repo.config_path}`,
    `Visibility: ${repo.visibility}   Trusted: ${repo.trusted}   Protected: ${repo.protected}   Timeout: ${repo.timeout}m`,
    ...(repo.registry ? [`Registry:   ${repo.registry}`] : []),
    ...(repo.notify_email !== undefined
      ? [
          `Notify:     email ${repo.notify_email.join(', ') || "(the server's)"} on ${repo.notify_on === null ? "(the server's)" : repo.notify_on?.join(', ') || 'never'}` +
            `${repo.notify_webhook ? `; webhook ${repo.notify_webhook}` : ''}`,
        ]
      : []),
    `Builds:     ${repo.counter}   Created: ${when(repo.created)}`,
    '',
  ].join('\n');
}
