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
