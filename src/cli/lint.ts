import { parseArgs } from 'node:util';
import { compileConfig } from '../pipeline/config-format.ts';
import { formatDiagnostic } from '../pipeline/diagnostic.ts';
import { buildContext } from './build-context.ts';
import { readPipelineFile } from './pipeline-file.ts';

const usage = `usage: runlog lint [file] [--untrusted]

Checks a .drone.yml (default: ./.drone.yml) the way runlog and Drone read it, or a
caicloud.yml (by its name, or by its content), and prints every problem as
file:line:col: severity: message.
  --untrusted   check as for a repository that is not trusted (no privileged steps,
                host volumes, dns, extra_hosts or network_mode)
Exit status: 0 no errors (warnings allowed), 1 errors found, 2 the command could not run.
`;

/** `runlog lint [file]`: diagnostics on stdout, a one-line summary on stderr. */
export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { untrusted: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  } catch (cause) {
    process.stderr.write(`runlog lint: ${firstSentence(cause)}\n\n${usage}`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (parsed.positionals.length > 1) {
    process.stderr.write(`runlog lint: one file at a time, got ${parsed.positionals.length}\n\n${usage}`);
    return 2;
  }
  const file = parsed.positionals[0] ?? '.drone.yml';
  const read = await readPipelineFile(file);
  if (!read.ok) {
    process.stderr.write(`runlog lint: ${read.message}\n`);
    return 2;
  }
  const context = buildContext({ untrusted: parsed.values.untrusted }, new Date());
  if (!context.ok) {
    process.stderr.write(`runlog lint: ${context.message}\n`);
    return 2;
  }
  const { plan, diagnostics } = compileConfig(read.text, context.context, { file });
  for (const diagnostic of diagnostics) process.stdout.write(`${formatDiagnostic(diagnostic)}\n`);
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const counts = [errors && plural(errors, 'error'), warnings && plural(warnings, 'warning')].filter(Boolean).join(', ');
  const stages = plan ? `${plural(plan.stages.length, 'pipeline')}, ` : '';
  process.stderr.write(`${file}: ${stages}${counts || 'no problems'}\n`);
  return errors > 0 ? 1 : 0;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** node:util parseArgs explains at length how to pass a positional that starts with '-'; the first sentence is the news. */
function firstSentence(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  return message.split('. ')[0];
}
