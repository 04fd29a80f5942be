import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/pipeline/compile.ts';
import { buildEnvironment } from '../../src/pipeline/environment.ts';
import { Plan } from '../../src/pipeline/plan.ts';
import type { EnvValue, PlanStep } from '../../src/pipeline/plan.ts';
import { CompileContext } from '../../src/pipeline/trigger.ts';
import type { TriggerInput } from '../../src/pipeline/trigger.ts';
import { buildContext } from './build-context.ts';

/**
 * Golden files: `fixtures/<name>.yml` in, `fixtures/<name>.plan.json` out. Each fixture is
 * a real-world-shaped pipeline written from Drone's documented examples. A first line
 * `# given: {...}` changes the build (trigger fields, `trusted`); otherwise it is the push
 * to main of build-context.ts.
 *
 * So a golden file can be read, a step's environment lists only its own variables: the
 * build's `DRONE_*`/`CI_*` variables are left out (every step of every build has them;
 * compile-steps.unit.test.ts asserts them), and the stage's `DRONE_*`/`CI_*` variables,
 * the same in each of its steps, are written once as the stage's `environmentOfEveryStep`
 * (not a plan field; golden only).
 * `UPDATE_GOLDEN=1` rewrites the files; read the diff before committing it.
 */
const folder = fileURLToPath(new URL('./fixtures/', import.meta.url));
const fixtures = readdirSync(folder)
  .filter((file) => file.endsWith('.yml'))
  .sort();

interface Given {
  trigger?: Partial<TriggerInput>;
  trusted?: boolean;
}

function given(text: string): Given {
  const match = /^# given: (.*)$/m.exec(text.split('\n')[0] ?? '');
  return match ? (JSON.parse(match[1]) as Given) : {};
}

function golden(text: string): unknown {
  const { trigger, trusted } = given(text);
  const context = buildContext(trigger, { trusted });
  const { plan, diagnostics } = compile(text, context);
  const shared = buildEnvironment(CompileContext.parse(context));
  const fromBuild = (name: string, value: EnvValue) => 'value' in value && shared[name] === value.value;
  return {
    diagnostics: diagnostics.map((d) => `${d.line}:${d.column}: ${d.severity}: ${d.message}`),
    plan: plan && {
      ...Plan.parse(plan),
      stages: plan.stages.map((stage) => {
        const all = [...stage.steps, ...stage.services];
        const common = Object.entries(all[0]?.environment ?? {}).filter(
          ([name, value]) =>
            /^(DRONE|CI)_/.test(name) && !fromBuild(name, value) && all.every((step) => JSON.stringify(step.environment[name]) === JSON.stringify(value)),
        );
        const own = (step: PlanStep) => ({
          ...step,
          environment: Object.fromEntries(
            Object.entries(step.environment).filter(([name, value]) => !fromBuild(name, value) && !common.some(([shared]) => shared === name)),
          ),
        });
        return { ...stage, environmentOfEveryStep: Object.fromEntries(common), services: stage.services.map(own), steps: stage.steps.map(own) };
      }),
    },
  };
}

describe('compile: golden files', () => {
  test('there are at least 30 fixtures', () => {
    assert.ok(fixtures.length >= 30, `only ${fixtures.length} fixtures`);
  });

  for (const file of fixtures) {
    test(file, () => {
      const text = readFileSync(new URL(file, `file://${folder}`), 'utf8');
      const actual = golden(text);
      const path = new URL(file.replace(/\.yml$/, '.plan.json'), `file://${folder}`);
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, `${readableJson(actual, '')}\n`);
      const expected = JSON.parse(readFileSync(path, 'utf8')) as unknown;
      assert.deepEqual(actual, expected);
      assert.ok((actual as { plan?: unknown }).plan, `${file} should compile to a plan`);
    });
  }
});

/** JSON with short objects and lists on one line, so a golden file reads like the plan it is. */
function readableJson(value: unknown, indent: string): string {
  const inline = JSON.stringify(value);
  if (inline === undefined) return 'null';
  if (typeof value !== 'object' || value === null || inline.length + indent.length <= 100) return inline;
  const inner = `${indent}  `;
  if (Array.isArray(value)) return `[\n${value.map((item) => inner + readableJson(item, inner)).join(',\n')}\n${indent}]`;
  const entries = Object.entries(value).filter(([, item]) => item !== undefined);
  return `{\n${entries.map(([key, item]) => `${inner}${JSON.stringify(key)}: ${readableJson(item, inner)}`).join(',\n')}\n${indent}}`;
}
