import type { Plan, PlanStage, PlanStep } from '../pipeline/plan.ts';

/**
 * A plan as `runlog plan` shows it: each stage with its platform and dependencies, then
 * its services and steps in order, what each waits for, and why a skipped one is skipped.
 * Pure: the plan in, lines out.
 *
 *   stage 1: build  (docker, linux/amd64)
 *   ├─ 1 clone
 *   ├─ 2 cache  service redis
 *   └─ 3 test   golang:1.22  after clone, cache
 */
export function renderPlanTree(plan: Plan): string {
  const lines: string[] = [];
  for (const stage of plan.stages) {
    if (lines.length > 0) lines.push('');
    lines.push(stageLine(stage));
    for (const detail of stageDetails(stage)) lines.push(`│ ${detail}`);
    const entries = [...stage.steps.filter((step) => step.kind === 'clone'), ...stage.services, ...stage.steps.filter((step) => step.kind !== 'clone')];
    const width = Math.max(0, ...entries.map((step) => step.name.length));
    entries.forEach((step, i) => lines.push(`${i === entries.length - 1 ? '└─' : '├─'} ${stepLine(step, width)}`));
    if (entries.length === 0) lines.push('└─ (no steps)');
  }
  return `${lines.map((line) => line.trimEnd()).join('\n')}\n`;
}

function stageLine(stage: PlanStage): string {
  const { os, arch, variant, version } = stage.platform;
  const platform = [`${os}/${arch}${variant ? `/${variant}` : ''}`, version].filter(Boolean).join(' ');
  const parts = [`stage ${stage.number}: ${stage.name}  (${stage.type}, ${platform})`];
  if (stage.dependsOn.length > 0) parts.push(`after ${stage.dependsOn.join(', ')}`);
  const policy = policyText(stage.runsOn);
  if (policy) parts.push(policy);
  if (stage.skip) parts.push(`skipped: ${stage.skip.reason}`);
  return parts.join('  ');
}

function stageDetails(stage: PlanStage): string[] {
  const details: string[] = [];
  const labels = Object.entries(stage.labels);
  if (labels.length > 0) details.push(`node: ${labels.map(([key, value]) => `${key}=${value}`).join(', ')}`);
  if (stage.workspace.path !== '/drone/src') details.push(`workspace: ${stage.workspace.path}`);
  if (stage.concurrency) details.push(`concurrency: ${stage.concurrency.limit}`);
  if (stage.clone.disable) details.push('clone: disabled');
  else if (stage.clone.depth > 0) details.push(`clone: depth ${stage.clone.depth}`);
  if (stage.volumes.length > 0) {
    details.push(`volumes: ${stage.volumes.map((v) => (v.kind === 'host' ? `${v.name} (host ${v.path})` : `${v.name} (temp${v.medium ? `, ${v.medium}` : ''})`)).join(', ')}`);
  }
  if (stage.secrets.length > 0) details.push(`secrets: ${stage.secrets.join(', ')}`);
  return details;
}

function stepLine(step: PlanStep, width: number): string {
  const parts = [`${step.number} ${step.name.padEnd(width)}`];
  if (step.kind === 'service') parts.push('service');
  else if (step.detach) parts.push('detached');
  if (step.image) parts.push(step.image);
  if (step.privileged) parts.push('privileged');
  if (step.dependsOn.length > 0) parts.push(`after ${step.dependsOn.join(', ')}`);
  const policy = step.kind === 'clone' ? undefined : policyText(step.runsOn);
  if (policy) parts.push(policy);
  if (step.failure === 'ignore') parts.push('failure ignored');
  if (step.retry) parts.push(`retry ${step.retry.limit}×${step.retry.exitCodes.length > 0 ? ` on exit ${step.retry.exitCodes.join(', ')}` : ''}`);
  if (step.skip) parts.push(`skipped: ${step.skip.reason}`);
  return parts.join('  ');
}

function policyText(runsOn: readonly ('success' | 'failure')[]): string | undefined {
  if (runsOn.includes('failure')) return runsOn.includes('success') ? 'always runs' : 'runs on failure';
  return undefined;
}
