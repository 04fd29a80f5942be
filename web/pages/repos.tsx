import { useState } from 'preact/hooks';
import { api, repoPath } from '../api.ts';
import { Problem } from '../problem.tsx';
import { navigate } from '../router.ts';
import { ago, Status } from '../status.tsx';
import type { Build, Repo } from '../types.ts';
import { useData } from '../use-data.ts';
import { useLiveRefresh } from '../live.ts';

type RepoWithLatest = Repo & { latest?: Build };

async function loadRepos(): Promise<RepoWithLatest[]> {
  const repos = await api<Repo[]>('/api/user/repos');
  return Promise.all(
    repos.map(async (repo) => {
      const [latest] = await api<Build[]>(`${repoPath(repo.slug)}/builds?per_page=1`).catch(() => []);
      return { ...repo, latest };
    }),
  );
}

export function Repos() {
  const { data, error, reload } = useData(loadRepos, 'repos');
  useLiveRefresh(reload, true, 5000);
  return (
    <main>
      <h1>Repositories</h1>
      {error && <Problem error={error} />}
      {data && data.length === 0 && <p>No repository is active yet: activate one below.</p>}
      {data && data.length > 0 && (
        <ul class="cards" aria-label="repositories">
          {data.map((repo) => (
            <li key={repo.slug} class="card">
              <a href={`/${repo.slug}`} class="card-link">
                <span class="card-title">{repo.slug}</span>
                {repo.latest ? (
                  <span class="card-meta">
                    <Status status={repo.latest.status} /> #{repo.latest.number} · {ago(repo.latest.created)}
                  </span>
                ) : (
                  <span class="card-meta muted">no builds yet</span>
                )}
              </a>
              {!repo.active && <span class="tag">inactive</span>}
            </li>
          ))}
        </ul>
      )}
      <ActivateRepo />
    </main>
  );
}

function ActivateRepo() {
  const [error, setError] = useState<Error | undefined>();
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const slug = String(form.get('slug') ?? '').trim();
    if (!/^[^/\s]+\/[^/\s]+$/.test(slug)) return setError(new Error('Name the repository as owner/name.'));
    try {
      await api(repoPath(slug), {
        method: 'POST',
        body: {
          clone_url: form.get('clone_url') || undefined,
          default_branch: form.get('default_branch') || undefined,
          config_path: form.get('config_path') || undefined,
          timeout: Number(form.get('timeout')) || undefined,
          trusted: form.get('trusted') === 'on',
          protected: form.get('protected') === 'on',
          visibility: form.get('visibility') || undefined,
        },
      });
      navigate(`/${slug}/settings`);
    } catch (failure) {
      setError(failure as Error);
    }
  };
  return (
    <section aria-labelledby="activate">
      <h2 id="activate">Activate a repository</h2>
      <form onSubmit={submit} class="grid-form">
        <label for="slug">Repository (owner/name)</label>
        <input id="slug" name="slug" required placeholder="acme/web" />
        <label for="clone_url">Clone URL</label>
        <input id="clone_url" name="clone_url" type="url" placeholder="https://git.example.com/acme/web.git" />
        <label for="default_branch">Default branch</label>
        <input id="default_branch" name="default_branch" placeholder="main" />
        <label for="config_path">Config path</label>
        <input id="config_path" name="config_path" placeholder=".drone.yml" />
        <label for="timeout">Timeout (minutes)</label>
        <input id="timeout" name="timeout" type="number" min="1" max="1440" placeholder="60" />
        <label for="visibility">Visibility</label>
        <select id="visibility" name="visibility">
          <option value="private">private</option>
          <option value="internal">internal</option>
          <option value="public">public</option>
        </select>
        <span />
        <label class="check">
          <input type="checkbox" name="trusted" /> Trusted (privileged steps, host volumes)
        </label>
        <span />
        <label class="check">
          <input type="checkbox" name="protected" /> Protected (builds wait for approval)
        </label>
        <span />
        <button type="submit">Activate</button>
      </form>
      {error && <Problem error={error} />}
    </section>
  );
}
