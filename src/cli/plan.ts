import { parseArgs } from 'node:util';
import { compileConfig } from '../pipeline/config-format.ts';
import { formatDiagnostic } from '../pipeline/diagnostic.ts';
import { buildContext, triggerFlagOptions } from './build-context.ts';
import { readPipelineFile } from './pipeline-file.ts';
import { renderPlanTree } from './plan-tree.ts';

const usage = `usage: runlog plan [file] [options]

Shows the plan a .drone.yml (default: ./.drone.yml) or a caicloud.yml compiles to for one
build: stages in order, their steps, what each waits for, and why a skipped one is skipped.
  --event <event>     push (default), pull_request, tag, promote, rollback, cron, custom
  --branch <name>     the branch (default main; for a pull request, the target branch)
  --ref <ref>         the git ref (default refs/heads/<branch>, refs/tags/<tag>, ...)
  --commit <sha>      the commit (default 0000...)
  --tag <name>        a tag build: sets --event tag and refs/tags/<name>
  --repo <owner/name> the repository (default local/repository)
  --action <action>   the event's action (pull request: opened, synchronize, ...)
  --target <name>     the deploy target of a promote or rollback
  --cron <name>       the cron job's name
  --untrusted         plan as for a repository that is not trusted
  --registry <host:port>  caicloud.yml: the registry the image is pushed to
  --json              print the plan as JSON
Problems go to stderr as file:line:col: severity: message.
Exit status: 0 planned, 1 the file has errors, 2 the command could not run.
`;

/** `runlog plan [file] --event push --branch main ... [--json]`. */
export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        ...triggerFlagOptions,
        untrusted: { type: 'boolean' },
        registry: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (cause) {
    process.stderr.write(`runlog plan: ${firstSentence(cause)}\n\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (positionals.length > 1) {
    process.stderr.write(`runlog plan: one file at a time, got ${positionals.length}\n\n${usage}`);
    return 2;
  }
  const context = buildContext(values, new Date());
  if (!context.ok) {
    process.stderr.write(`runlog plan: ${context.message}\n`);
    return 2;
  }
  const file = positionals[0] ?? '.drone.yml';
  const read = await readPipelineFile(file);
  if (!read.ok) {
    process.stderr.write(`runlog plan: ${read.message}\n`);
    return 2;
  }
  const { plan, diagnostics } = compileConfig(read.text, context.context, { file, ...(values.registry ? { registry: values.registry } : {}) });
  for (const diagnostic of diagnostics) process.stderr.write(`${formatDiagnostic(diagnostic)}\n`);
  if (!plan) return 1;
  process.stdout.write(values.json ? `${JSON.stringify(plan, null, 2)}\n` : renderPlanTree(plan));
  return 0;
}

/** node:util parseArgs explains at length how to pass a positional that starts with '-'; the first sentence is the news. */
function firstSentence(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  return message.split('. ')[0];
}
