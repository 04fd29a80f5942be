import { api } from '../api.ts';
import { useLiveRefresh } from '../live.ts';
import { Problem } from '../problem.tsx';
import { ago, Status } from '../status.tsx';
import { useData } from '../use-data.ts';

type QueuedStage = {
  repo_slug?: string;
  slug?: string;
  build_number?: number;
  number?: number;
  name: string;
  status: string;
  os?: string;
  arch?: string;
  variant?: string;
  kernel?: string;
  labels?: Record<string, string>;
  machine?: string;
  created?: number;
};
type Runner = {
  name: string;
  os?: string;
  arch?: string;
  platform?: { os?: string; arch?: string };
  labels?: Record<string, string>;
  capacity?: number;
  running?: unknown[];
  stages?: unknown[];
  last_seen?: number | string;
};

const labelText = (labels?: Record<string, string>) =>
  Object.entries(labels ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(', ') || '—';
const seen = (value?: number | string) => (typeof value === 'number' ? ago(value) : value ? ago(Math.floor(new Date(value).getTime() / 1000)) : '');

/** Queued and running stages with the platform and labels they wait for, and the runners that could take them. */
export function Queue() {
  const queue = useData(() => api<QueuedStage[]>('/api/queue'), 'queue');
  const runners = useData(() => api<Runner[]>('/api/runners'), 'runners');
  useLiveRefresh(() => {
    queue.reload();
    runners.reload();
  }, true, 2000);
  return (
    <main>
      <h1>Queue</h1>
      {queue.error && <Problem error={queue.error} />}
      {queue.data && queue.data.length === 0 && <p>Nothing is queued.</p>}
      {queue.data && queue.data.length > 0 && (
        <table>
          <caption class="visually-hidden">queued stages</caption>
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Build</th>
              <th scope="col">Pipeline</th>
              <th scope="col">Platform</th>
              <th scope="col">Labels</th>
            </tr>
          </thead>
          <tbody>
            {queue.data.map((stage, index) => {
              const slug = stage.repo_slug ?? stage.slug;
              const number = stage.build_number;
              return (
                <tr key={index}>
                  <td>
                    <Status status={stage.status} />
                  </td>
                  <td>{slug && number ? <a href={`/${slug}/${number}`}>{`${slug}#${number}`}</a> : slug ?? ''}</td>
                  <td>{stage.name}</td>
                  <td>{[stage.os, stage.arch, stage.variant, stage.kernel].filter(Boolean).join('/')}</td>
                  <td>{labelText(stage.labels)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <h2>Runners</h2>
      {runners.error && <Problem error={runners.error} />}
      {runners.data && runners.data.length === 0 && <p>No runner has reported yet.</p>}
      {runners.data && runners.data.length > 0 && (
        <table>
          <caption class="visually-hidden">runners</caption>
          <thead>
            <tr>
              <th scope="col">Runner</th>
              <th scope="col">Platform</th>
              <th scope="col">Labels</th>
              <th scope="col">Running</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {runners.data.map((runner) => (
              <tr key={runner.name}>
                <td>{runner.name}</td>
                <td>{[runner.os ?? runner.platform?.os, runner.arch ?? runner.platform?.arch].filter(Boolean).join('/')}</td>
                <td>{labelText(runner.labels)}</td>
                <td>
                  {(runner.running ?? runner.stages ?? []).length}
                  {runner.capacity ? ` of ${runner.capacity}` : ''}
                </td>
                <td>{seen(runner.last_seen)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
