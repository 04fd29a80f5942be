/**
 * Compiling a 50-step, 5-pipeline `.drone.yml` next to the `yaml` package's bare parse of
 * the same text (parseAllDocuments + toJS), in the same run. Compile adds substitution,
 * the 1.1 walk that keeps source text, zod validation, Drone's lint rules and the plan
 * with every step's environment; the figure is compile/parse (goal ≤ 3).
 */
import { parseAllDocuments } from 'yaml';
import { compile } from '../src/pipeline/compile.ts';
import type { CompileContextInput } from '../src/pipeline/trigger.ts';

const PIPELINES = 5;
const STEPS_PER_PIPELINE = 10;
const ROUNDS = Number(process.env.BENCH_COMPILE_ROUNDS ?? 300);

const context: CompileContextInput = {
  trigger: { event: 'push', ref: 'refs/heads/main', branch: 'main', commit: '6f2a1c8e9b3d4f5a6b7c8d9e0f1a2b3c4d5e6f7a', message: 'bench' },
  repo: { owner: 'octocat', name: 'hello-world', slug: 'octocat/hello-world', trusted: true },
  build: { number: 1, createdAt: '2026-01-01T00:00:00.000Z' },
};

/** Five pipelines of ten varied steps: commands, settings with secrets, conditions, a service, volumes. */
export function benchFile(): string {
  const documents: string[] = [];
  for (let p = 0; p < PIPELINES; p++) {
    const lines = [
      'kind: pipeline',
      'type: docker',
      `name: pipeline-${p}`,
      ...(p > 0 ? ['depends_on:', `- pipeline-${p - 1}`] : []),
      'environment:',
      '  GOFLAGS: -mod=readonly',
      'trigger:',
      '  branch: [main, release/*]',
      'services:',
      '- name: database',
      '  image: postgres:16',
      '  environment:',
      '    POSTGRES_PASSWORD: postgres',
      'volumes:',
      '- name: cache',
      '  temp: {}',
      'steps:',
    ];
    for (let s = 0; s < STEPS_PER_PIPELINE; s++) {
      lines.push(`- name: step-${s}`);
      if (s % 3 === 2) {
        lines.push(
          '  image: plugins/docker',
          '  settings:',
          '    repo: octocat/hello-world',
          '    tags: [latest, "${DRONE_COMMIT_SHA:0:8}"]',
          '    build_args: {VERSION: "${DRONE_BUILD_NUMBER}", MODE: release}',
          '    password:',
          '      from_secret: docker_password',
          '  when:',
          '    event: [push, tag]',
        );
      } else {
        lines.push(
          '  image: golang:1.22',
          '  volumes:',
          '  - name: cache',
          '    path: /go/pkg/mod',
          '  environment:',
          '    CGO_ENABLED: 0',
          '    TOKEN:',
          '      from_secret: github_token',
          '  commands:',
          '  - go mod download',
          `  - go test -run Test${s} ./...`,
          '  - echo "built ${DRONE_BRANCH} at ${DRONE_COMMIT_SHA:0:8}"',
        );
      }
      if (s > 0) lines.push('  depends_on:', `  - step-${s - 1}`);
      else lines.push('  depends_on:', '  - clone');
    }
    documents.push(lines.join('\n'));
  }
  return `${documents.join('\n---\n')}\n`;
}

/**
 * Both operations, one after the other in every round, so a busy machine slows both alike;
 * the medians are reported.
 */
function interleaved(work: Record<string, () => void>): Record<string, number> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(work).map((label) => [label, []]));
  for (let i = 0; i < 20; i++) for (const run of Object.values(work)) run();
  for (let i = 0; i < ROUNDS; i++) {
    for (const [label, run] of Object.entries(work)) {
      const started = performance.now();
      run();
      times[label].push(performance.now() - started);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return Object.fromEntries(Object.entries(times).map(([label, values]) => [label, median(values)]));
}

export async function run(): Promise<void> {
  const text = benchFile();
  const check = compile(text, context);
  if (!check.plan || check.plan.stages.length !== PIPELINES) throw new Error(`the bench file does not compile: ${JSON.stringify(check.diagnostics[0])}`);
  console.log(`  ${PIPELINES} pipelines × ${STEPS_PER_PIPELINE} steps, ${text.length} bytes, ${ROUNDS} rounds`);
  const { parse, compiled } = interleaved({
    parse: () => {
      const documents = parseAllDocuments(text);
      if (Array.isArray(documents)) for (const doc of documents) doc.toJS();
    },
    compiled: () => {
      compile(text, context);
    },
  });
  console.log(`  ${'yaml: parseAllDocuments + toJS (median)'.padEnd(44)} ${parse.toFixed(3).padStart(8)} ms`);
  console.log(`  ${'runlog: compile, substitute → plan (median)'.padEnd(44)} ${compiled.toFixed(3).padStart(8)} ms`);
  console.log(`  ratio compile/parse ${(compiled / parse).toFixed(2)} (goal ≤ 3)`);
}
