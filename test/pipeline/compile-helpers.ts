import assert from 'node:assert/strict';
import { compile } from '../../src/pipeline/compile.ts';
import { Plan } from '../../src/pipeline/plan.ts';
import type { PlanStage, PlanStep } from '../../src/pipeline/plan.ts';
import type { TriggerInput } from '../../src/pipeline/trigger.ts';
import { buildContext } from './build-context.ts';

/** Template literal → YAML text: drops the first newline and the indentation the test file adds. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const raw = strings.reduce((out, part, i) => out + part + (i < values.length ? String(values[i]) : ''), '');
  const lines = raw.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((line) => line.trim() !== '').map((line) => line.length - line.trimStart().length));
  return lines.map((line) => line.slice(indent)).join('\n').replace(/\s+$/, '\n');
}

export interface Build {
  trigger?: Partial<TriggerInput>;
  trusted?: boolean;
}

/** Compiles and asserts there is a plan (warnings allowed); the plan is checked against the zod schema too. */
export function planOf(text: string, build: Build = {}): Plan {
  const { plan, diagnostics } = compile(text, buildContext(build.trigger, { trusted: build.trusted }));
  assert.ok(plan, `expected a plan, got:\n${diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`).join('\n')}`);
  return Plan.parse(plan);
}

/** Every diagnostic as `line:col: severity: message`, in reading order. */
export function problemsOf(text: string, build: Build = {}): string[] {
  const { diagnostics } = compile(text, buildContext(build.trigger, { trusted: build.trusted }));
  return diagnostics.map((d) => `${d.line}:${d.column}: ${d.severity}: ${d.message}`);
}

export function stage(plan: Plan, name?: string): PlanStage {
  const found = name === undefined ? plan.stages[0] : plan.stages.find((s) => s.name === name);
  assert.ok(found, `no stage ${name}`);
  return found;
}

/** A step or service of the first (or named) stage, by name. */
export function step(plan: Plan, name: string, stageName?: string): PlanStep {
  const s = stage(plan, stageName);
  const found = [...s.steps, ...s.services].find((candidate) => candidate.name === name);
  assert.ok(found, `no step ${name} in stage ${s.name}`);
  return found;
}

/** Environment values that are plain text, as a name → value map. */
export function plainEnv(s: PlanStep): Record<string, string> {
  return Object.fromEntries(Object.entries(s.environment).flatMap(([k, v]) => ('value' in v ? [[k, v.value]] : [])));
}
