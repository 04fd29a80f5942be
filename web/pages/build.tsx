import { useEffect, useState } from 'preact/hooks';
import { api, repoPath } from '../api.ts';
import { useLiveRefresh } from '../live.ts';
import { LogView } from '../log-view.tsx';
import { PipelineGraph, type PlanShape } from '../pipeline-graph.tsx';
import { Problem } from '../problem.tsx';
import { navigate } from '../router.ts';
import { ago, duration, Status } from '../status.tsx';
import { Timeline } from '../timeline.tsx';
import { finished, type Build as BuildJson, type HistoryEvent } from '../types.ts';
import { useData } from '../use-data.ts';

type Props = { slug: string; number: number; stage?: number; step?: number; tab: 'graph' | 'timeline' };

/** A build: its pipelines and steps as a graph updating live, the selected step's log, actions, and the timeline. */
export function Build({ slug, number, stage, step, tab }: Props) {
  const base = `${repoPath(slug)}/builds/${number}`;
  const build = useData(() => api<BuildJson>(base), base);
  const events = useData(() => api<HistoryEvent[]>(`${base}/events?limit=10000`), `${base}/events`);
  const live = !build.data || !finished(build.data.status);
  useLiveRefresh(() => {
    build.reload();
    events.reload();
  }, live);
  // One last read once the build ends, so the timeline holds every event.
  useEffect(() => {
    if (!live) events.reload();
  }, [live]);

  if (build.error && !build.data) return <main><Problem error={build.error} /></main>;
  if (!build.data) return <main aria-busy="true">Loading…</main>;
  const data = build.data;
  const created = events.data?.find((event) => event.type === 'BuildCreated');
  const plan = (created?.data as { plan?: PlanShape } | undefined)?.plan;
  const selectedStage = data.stages?.find((candidate) => candidate.number === stage);
  const selectedStep = selectedStage?.steps.find((candidate) => candidate.number === step);

  return (
    <main class="build">
      <BuildHeader slug={slug} build={data} onChanged={build.reload} />
      <nav class="tabs" aria-label="build views">
        <a href={location.pathname} aria-current={tab === 'graph' ? 'page' : undefined}>
          Pipelines
        </a>
        <a href={`${location.pathname}#timeline`} aria-current={tab === 'timeline' ? 'page' : undefined}>
          Timeline
        </a>
      </nav>
      {tab === 'timeline' ? (
        <Replay slug={slug} build={data} base={base} events={events.data ?? []} plan={plan} />
      ) : (
        <div class="build-body">
          <PipelineGraph build={data} slug={slug} plan={plan} selected={{ stage, step }} />
          {selectedStage && selectedStep && (
            <LogView
              slug={slug}
              number={number}
              stage={selectedStage.number}
              step={selectedStep.number}
              stepName={`${selectedStage.name} › ${selectedStep.name}`}
              running={!finished(selectedStep.status)}
            />
          )}
        </div>
      )}
    </main>
  );
}

function BuildHeader({ slug, build, onChanged }: { slug: string; build: BuildJson; onChanged(): void }) {
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const base = `${repoPath(slug)}/builds/${build.number}`;
  const act = async (path: string, method: string, then?: (answer: BuildJson) => void) => {
    setBusy(true);
    try {
      const answer = await api<BuildJson>(path, { method });
      setError(undefined);
      then ? then(answer) : onChanged();
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(false);
    }
  };
  const promote = (event: Event) => {
    event.preventDefault();
    const target = String(new FormData(event.currentTarget as HTMLFormElement).get('target') ?? '').trim();
    if (target) act(`${base}/promote?target=${encodeURIComponent(target)}`, 'POST', (answer) => navigate(`/${slug}/${answer.number}`));
  };
  const done = finished(build.status);
  return (
    <header class="build-head">
      <h1>
        <a href={`/${slug}`}>{slug}</a> #{build.number}
      </h1>
      <p class="row" aria-live="polite">
        <Status status={build.status} />
        <span>{(build.message || build.title || '').split('\n')[0]}</span>
      </p>
      <p class="muted row">
        <span>{build.event}</span>
        <span>{build.event === 'tag' ? build.ref.replace('refs/tags/', '') : build.target}</span>
        {build.after && <code>{build.after.slice(0, 8)}</code>}
        {(build.author_login || build.author_name) && <span>by {build.author_login || build.author_name}</span>}
        <span>{ago(build.created)}</span>
        {build.started > 0 && <span>took {duration(build.started, build.finished)}</span>}
        {build.parent > 0 && (
          <span>
            restart of <a href={`/${slug}/${build.parent}`}>#{build.parent}</a>
          </span>
        )}
      </p>
      {build.error && <p class="error">{build.error}</p>}
      <div class="row actions">
        {build.status === 'blocked' && (
          <>
            <button type="button" disabled={busy} onClick={() => act(`${base}/approve`, 'POST')}>
              Approve
            </button>
            <button type="button" disabled={busy} class="danger" onClick={() => act(`${base}/decline`, 'POST')}>
              Decline
            </button>
          </>
        )}
        {!done && (
          <button type="button" disabled={busy} class="danger" onClick={() => act(base, 'DELETE')}>
            Cancel
          </button>
        )}
        {done && (
          <button type="button" disabled={busy} onClick={() => act(base, 'POST', (answer) => navigate(`/${slug}/${answer.number}`))}>
            Restart
          </button>
        )}
        {done && (
          <form class="row" onSubmit={promote}>
            <label for="promote-target" class="visually-hidden">
              Promote to
            </label>
            <input id="promote-target" name="target" placeholder="production" size={12} />
            <button type="submit" disabled={busy}>
              Promote
            </button>
          </form>
        )}
      </div>
      {error && <Problem error={error} />}
    </header>
  );
}

/** The timeline tab: the slider replays the build (`?at=<position>`) and the graph shows it as it was. */
function Replay({ slug, build, base, events, plan }: { slug: string; build: BuildJson; base: string; events: HistoryEvent[]; plan?: PlanShape }) {
  const [position, setPosition] = useState<number | undefined>();
  const [past, setPast] = useState<BuildJson | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const last = events.length - 1;
  const index = position ?? last;
  useEffect(() => {
    if (position === undefined || position >= last) return setPast(undefined);
    let cancelled = false;
    api<BuildJson>(`${base}?at=${events[position]!.position}`).then(
      (answer) => !cancelled && (setPast(answer), setError(undefined)),
      (failure: Error) => !cancelled && setError(failure),
    );
    return () => {
      cancelled = true;
    };
  }, [position, last]);
  const shown = past ?? build;
  const names = {
    stage: (n: number) => build.stages?.find((stage) => stage.number === n)?.name ?? `stage ${n}`,
    step: (s: number, n: number) => build.stages?.find((stage) => stage.number === s)?.steps.find((candidate) => candidate.number === n)?.name ?? `step ${n}`,
  };
  return (
    <div class="replay">
      <p class="muted" aria-live="polite" data-testid="replay-state">
        {past ? `As it was after event ${index + 1} of ${events.length}: ` : 'Now: '}
        <Status status={shown.status} />
      </p>
      <PipelineGraph build={shown} slug={slug} plan={plan} linkSuffix="" />
      {error && <Problem error={error} />}
      <Timeline events={events} position={index} onPosition={(next) => setPosition(next >= last ? undefined : next)} names={names} />
    </div>
  );
}
