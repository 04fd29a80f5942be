import { useState } from 'preact/hooks';
import { api, repoPath } from '../api.ts';
import { useLiveRefresh } from '../live.ts';
import { Problem } from '../problem.tsx';
import { navigate } from '../router.ts';
import { ago, duration, Status } from '../status.tsx';
import type { Build } from '../types.ts';
import { useData } from '../use-data.ts';

const EVENTS = ['', 'push', 'pull_request', 'tag', 'promote', 'cron', 'custom'];

/** A repository's builds, newest first, updating live; filtered by branch (server side) and event. */
export function Builds({ slug }: { slug: string }) {
  const [branch, setBranch] = useState(new URLSearchParams(location.search).get('branch') ?? '');
  const [event, setEvent] = useState(new URLSearchParams(location.search).get('event') ?? '');
  const query = branch ? `?branch=${encodeURIComponent(branch)}&per_page=50` : '?per_page=50';
  const { data, error, reload } = useData(() => api<Build[]>(`${repoPath(slug)}/builds${query}`), `${slug}${query}`);
  useLiveRefresh(reload, true);
  const shown = (data ?? []).filter((build) => !event || build.event === event);
  return (
    <main>
      <h1>{slug}</h1>
      <nav class="row" aria-label="repository">
        <a href={`/${slug}/settings`}>Settings</a>
      </nav>
      <form class="row filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label for="filter-branch">Branch</label>
        <input id="filter-branch" value={branch} onChange={(e) => setBranch(e.currentTarget.value.trim())} placeholder="any" />
        <label for="filter-event">Event</label>
        <select id="filter-event" value={event} onChange={(e) => setEvent(e.currentTarget.value)}>
          {EVENTS.map((name) => (
            <option value={name}>{name || 'any'}</option>
          ))}
        </select>
      </form>
      {error && <Problem error={error} />}
      {data && shown.length === 0 && <p>No builds{branch || event ? ' match these filters' : ' yet'}.</p>}
      {shown.length > 0 && (
        <table class="builds">
          <caption class="visually-hidden">builds of {slug}</caption>
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Build</th>
              <th scope="col">Commit</th>
              <th scope="col" class="wide">Event</th>
              <th scope="col" class="wide">Author</th>
              <th scope="col">Time</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((build) => (
              <tr key={build.number} data-status={build.status}>
                <td>
                  <Status status={build.status} />
                </td>
                <td>
                  <a href={`/${slug}/${build.number}`}>#{build.number}</a>
                </td>
                <td class="message">
                  <span>{(build.message || build.title || '').split('\n')[0]}</span>
                  <span class="muted">
                    {build.event === 'tag' ? build.ref.replace('refs/tags/', '') : build.target} {build.after ? build.after.slice(0, 8) : ''}
                  </span>
                </td>
                <td class="wide">{build.event}</td>
                <td class="wide">{build.author_login || build.author_name}</td>
                <td>
                  <span>{ago(build.created)}</span>
                  <span class="muted"> {duration(build.started, build.finished)}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <NewBuild slug={slug} />
    </main>
  );
}

function NewBuild({ slug }: { slug: string }) {
  const [error, setError] = useState<Error | undefined>();
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const branch = String(form.get('branch') ?? '').trim();
    const config = String(form.get('config') ?? '');
    try {
      const build = await api<Build>(`${repoPath(slug)}/builds${branch ? `?branch=${encodeURIComponent(branch)}` : ''}`, {
        method: 'POST',
        body: config.trim() ? { config } : {},
      });
      navigate(`/${slug}/${build.number}`);
    } catch (failure) {
      setError(failure as Error);
    }
  };
  return (
    <details class="new-build">
      <summary>New build</summary>
      <form onSubmit={submit} class="stack">
        <label for="build-branch">Branch</label>
        <input id="build-branch" name="branch" placeholder="the default branch" />
        <label for="build-config">Pipeline (.drone.yml text; empty: read it from the repository)</label>
        <textarea id="build-config" name="config" rows={10} spellcheck={false} />
        <button type="submit">Run build</button>
      </form>
      {error && <Problem error={error} />}
    </details>
  );
}

