import { layers } from './graph.ts';
import { Status } from './status.tsx';
import type { Build, Stage, Step } from './types.ts';

/** What the plan says about each step's order: from the build's `BuildCreated` event. */
export type PlanShape = { stages: { name: string; steps: { name: string; dependsOn: string[] }[] }[] };

/**
 * The build as a graph: stages in columns by their `depends_on`, and within each stage its
 * steps in columns by theirs. Each step links to its log.
 */
export function PipelineGraph({ build, slug, plan, selected, linkSuffix = '' }: { build: Build; slug: string; plan?: PlanShape; selected?: { stage?: number; step?: number }; linkSuffix?: string }) {
  const stages = build.stages ?? [];
  const columns = layers(stages, (stage) => stage.name, (stage) => stage.depends_on ?? []);
  return (
    <div class="graph" role="list" aria-label="pipelines">
      {columns.map((column, index) => (
        <div class="graph-column" key={index}>
          {column.map((stage) => (
            <StageBox key={stage.number} stage={stage} build={build} slug={slug} plan={plan} selected={selected} linkSuffix={linkSuffix} />
          ))}
        </div>
      ))}
    </div>
  );
}

function StageBox({ stage, build, slug, plan, selected, linkSuffix }: { stage: Stage; build: Build; slug: string; plan?: PlanShape; selected?: { stage?: number; step?: number }; linkSuffix: string }) {
  const planned = plan?.stages.find((candidate) => candidate.name === stage.name);
  const dependsOf = (step: Step) => planned?.steps.find((candidate) => candidate.name === step.name)?.dependsOn ?? [];
  const stepColumns = layers(stage.steps, (step) => step.name, dependsOf);
  return (
    <section class={`stage stage-${stage.status}`} role="listitem" aria-label={`pipeline ${stage.name}`} data-stage={stage.name}>
      <header class="stage-head">
        <Status status={stage.status} />
        <strong>{stage.name}</strong>
        {stage.machine && <span class="muted" title="runner">on {stage.machine}</span>}
        {stage.attempt > 1 && <span class="tag">attempt {stage.attempt}</span>}
      </header>
      {stage.status === 'pending' && (stage.os || Object.keys(stage.labels ?? {}).length > 0) && (
        <p class="muted small">
          waits for a runner: {stage.os}/{stage.arch}
          {Object.entries(stage.labels ?? {}).map(([key, value]) => ` ${key}=${value}`)}
        </p>
      )}
      <div class="steps">
        {stepColumns.map((column, index) => (
          <ol class="step-column" key={index}>
            {column.map((step) => {
              const isSelected = selected?.stage === stage.number && selected?.step === step.number;
              return (
                <li key={step.number} class={`step step-${step.status}${isSelected ? ' selected' : ''}`} data-step={step.name} data-status={step.status}>
                  <a href={`/${slug}/${build.number}/${stage.number}/${step.number}${linkSuffix}`} aria-current={isSelected ? 'true' : undefined}>
                    <Status status={step.status} compact />
                    <span class="step-name">{step.name}</span>
                  </a>
                </li>
              );
            })}
          </ol>
        ))}
      </div>
    </section>
  );
}
