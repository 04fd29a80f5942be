/**
 * The `runlog` command. Each subcommand is a module exporting
 * `run(args: string[]): Promise<number>` (the exit code), loaded only when called so
 * `runlog lint` never opens a database and `runlog serve` never loads the compiler CLI.
 */
const commands: Record<string, { summary: string; load: () => Promise<{ run(args: string[]): Promise<number> }> }> = {
  serve: { summary: 'start the embedded server (PGlite, in-process queue, built-in runner)', load: () => import('./serve.ts') },
  server: { summary: 'start the server against RUNLOG_DATABASE_URL (Postgres)', load: () => import('./server.ts') },
  lint: { summary: 'check a .drone.yml: runlog lint [file]', load: () => import('./lint.ts') },
  plan: { summary: 'show the plan a .drone.yml compiles to: runlog plan [file] --event push --branch main', load: () => import('./plan.ts') },
  exec: { summary: 'run a pipeline on this machine, like drone exec: runlog exec [file] --pipeline name', load: () => import('./exec.ts') },
  projections: { summary: 'projections rebuild [name]: truncate and replay the views', load: () => import('./projections.ts') },
  events: { summary: "a build's history as a timeline: runlog events <owner/name> <build> [--json] [--follow]", load: () => import('./events.ts') },
  replay: { summary: 'a build at any moment: runlog replay <owner/name> <build> --at <position|time> | --diff <a> <b>', load: () => import('./replay.ts') },
  verify: { summary: 'prove the log intact and the views true to it: runlog verify [<owner/name> <build>]', load: () => import('./verify.ts') },
  export: { summary: 'the log as NDJSON with a manifest: runlog export [--repo owner/name] [--since t] [--until t]', load: () => import('./export.ts') },
  import: { summary: 'an export into an empty database, views rebuilt and verified: runlog import <file>', load: () => import('./import.ts') },
  runner: { summary: 'run stages for a runlog server: runlog runner --server URL --nats URL --secret S [--labels k=v] [--capacity N]', load: () => import('./runner.ts') },
  build: { summary: 'builds on a server: runlog build ls|info|create|restart|cancel|approve|decline|promote|logs <owner/name> ...', load: () => import('./build.ts') },
  repo: { summary: 'repositories on a server: runlog repo add|update|info|ls|rm <owner/name>', load: () => import('./repo.ts') },
  secret: { summary: 'repository secrets on a server: runlog secret add|ls|rm <owner/name> --name N [--data V]', load: () => import('./secret.ts') },
  logs: { summary: 'retention: runlog logs prune --older-than 90d (the events keep each log\'s sha256)', load: () => import('./logs.ts') },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`);
  return `usage: runlog <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`runlog: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  return (await command.load()).run(rest);
}

process.exitCode = await main(process.argv.slice(2));
