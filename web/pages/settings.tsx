import { useState } from 'preact/hooks';
import { api, repoPath } from '../api.ts';
import { Problem } from '../problem.tsx';
import type { Repo } from '../types.ts';
import { useData } from '../use-data.ts';

type Secret = { name: string; pull_request: boolean };
type Cron = { name: string; expr: string; branch: string; disabled?: boolean; next?: number };

/** A repository's settings, its webhook, secrets (values are write-only) and cron jobs. */
export function Settings({ slug }: { slug: string }) {
  const repo = useData(() => api<Repo>(repoPath(slug)), slug);
  return (
    <main>
      <h1>
        <a href={`/${slug}`}>{slug}</a> · settings
      </h1>
      {repo.error && <Problem error={repo.error} />}
      {repo.data && <RepoForm repo={repo.data} onSaved={repo.reload} />}
      {repo.data && <Webhook repo={repo.data} />}
      <Secrets slug={slug} />
      <CronJobs slug={slug} />
    </main>
  );
}

function RepoForm({ repo, onSaved }: { repo: Repo; onSaved(): void }) {
  const [message, setMessage] = useState('');
  const [error, setError] = useState<Error | undefined>();
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    try {
      await api(repoPath(repo.slug), {
        method: 'PATCH',
        body: {
          config_path: String(form.get('config_path')),
          timeout: Number(form.get('timeout')),
          trusted: form.get('trusted') === 'on',
          protected: form.get('protected') === 'on',
          visibility: String(form.get('visibility')),
        },
      });
      setError(undefined);
      setMessage('Saved.');
      onSaved();
    } catch (failure) {
      setError(failure as Error);
    }
  };
  return (
    <section aria-labelledby="repo-settings">
      <h2 id="repo-settings">Settings</h2>
      <form onSubmit={submit} class="grid-form">
        <label for="config_path">Config path</label>
        <input id="config_path" name="config_path" defaultValue={repo.config_path} required />
        <label for="timeout">Timeout (minutes)</label>
        <input id="timeout" name="timeout" type="number" min="1" max="1440" defaultValue={String(repo.timeout)} />
        <label for="visibility">Visibility</label>
        <select id="visibility" name="visibility" defaultValue={repo.visibility}>
          <option value="private">private</option>
          <option value="internal">internal</option>
          <option value="public">public</option>
        </select>
        <span />
        <label class="check">
          <input type="checkbox" name="trusted" defaultChecked={repo.trusted} /> Trusted
        </label>
        <span />
        <label class="check">
          <input type="checkbox" name="protected" defaultChecked={repo.protected} /> Protected
        </label>
        <span />
        <button type="submit">Save</button>
      </form>
      <p role="status">{message}</p>
      {error && <Problem error={error} />}
    </section>
  );
}

function Webhook({ repo }: { repo: Repo }) {
  const url = `${location.origin}/hook`;
  return (
    <section aria-labelledby="webhook">
      <h2 id="webhook">Webhook</h2>
      <p>Point the forge's webhook (push, tag, pull request) here, signed with this secret.</p>
      <div class="grid-form">
        <label for="hook-url">URL</label>
        <CopyField id="hook-url" value={url} />
        <label for="hook-secret">Secret</label>
        {repo.webhook_secret ? <CopyField id="hook-secret" value={repo.webhook_secret} secret /> : <span class="muted">shown to repository admins only</span>}
      </div>
    </section>
  );
}

function CopyField({ id, value, secret = false }: { id: string; value: string; secret?: boolean }) {
  const [copied, setCopied] = useState(false);
  return (
    <span class="row">
      {secret ? (
        <input id={id} readOnly value={value} type="password" onFocus={(e) => e.currentTarget.select()} />
      ) : (
        <input id={id} readOnly value={value} type="text" onFocus={(e) => e.currentTarget.select()} />
      )}
      <button
        type="button"
        onClick={async () => {
          await navigator.clipboard?.writeText(value).catch(() => {});
          setCopied(true);
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </span>
  );
}

/** A repo's named sub-resources (secrets, cron jobs): list, add from a form, remove by name. */
function useNamedItems<T>(path: string, bodyOf: (form: FormData) => unknown) {
  const list = useData(() => api<T[]>(path), path);
  const [error, setError] = useState<Error | undefined>();
  const attempt = async (work: () => Promise<unknown>) => {
    try {
      await work();
      setError(undefined);
      list.reload();
    } catch (failure) {
      setError(failure as Error);
    }
  };
  const add = (event: Event) => {
    event.preventDefault();
    const element = event.currentTarget as HTMLFormElement;
    return attempt(async () => {
      await api(path, { method: 'POST', body: bodyOf(new FormData(element)) });
      element.reset();
    });
  };
  const remove = (name: string) => attempt(() => api(`${path}/${encodeURIComponent(name)}`, { method: 'DELETE' }));
  return { list, error, add, remove };
}

function Secrets({ slug }: { slug: string }) {
  const { list, error, add, remove } = useNamedItems<Secret>(`${repoPath(slug)}/secrets`, (form) => ({
    name: form.get('name'),
    data: form.get('data'),
    pull_request: form.get('pull_request') === 'on',
  }));
  return (
    <section aria-labelledby="secrets">
      <h2 id="secrets">Secrets</h2>
      {list.error && <Problem error={list.error} />}
      {list.data && (
        <ul class="plain" aria-label="secrets">
          {list.data.length === 0 && <li class="muted">none</li>}
          {list.data.map((secret) => (
            <li key={secret.name} class="row">
              <code>{secret.name}</code>
              {secret.pull_request && <span class="tag">pull requests</span>}
              <button type="button" class="quiet" onClick={() => remove(secret.name)} aria-label={`remove secret ${secret.name}`}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={add} class="grid-form">
        <label for="secret-name">Name</label>
        <input id="secret-name" name="name" required pattern="[A-Za-z0-9_.\-]+" />
        <label for="secret-data">Value</label>
        <input id="secret-data" name="data" type="password" required autocomplete="off" />
        <span />
        <label class="check">
          <input type="checkbox" name="pull_request" /> Available to pull requests
        </label>
        <span />
        <button type="submit">Add secret</button>
      </form>
      {error && <Problem error={error} />}
    </section>
  );
}

function CronJobs({ slug }: { slug: string }) {
  const { list, error, add, remove } = useNamedItems<Cron>(`${repoPath(slug)}/cron`, (form) => ({
    name: form.get('name'),
    expr: form.get('expr'),
    branch: form.get('branch') || undefined,
  }));
  return (
    <section aria-labelledby="cron">
      <h2 id="cron">Cron jobs</h2>
      {list.error && <Problem error={list.error} />}
      {list.data && (
        <ul class="plain" aria-label="cron jobs">
          {list.data.length === 0 && <li class="muted">none</li>}
          {list.data.map((cron) => (
            <li key={cron.name} class="row">
              <code>{cron.name}</code> <span>{cron.expr}</span> <span class="muted">{cron.branch}</span>
              <button type="button" class="quiet" onClick={() => remove(cron.name)} aria-label={`remove cron job ${cron.name}`}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={add} class="grid-form">
        <label for="cron-name">Name</label>
        <input id="cron-name" name="name" required />
        <label for="cron-expr">Schedule</label>
        <input id="cron-expr" name="expr" required placeholder="@daily" />
        <label for="cron-branch">Branch</label>
        <input id="cron-branch" name="branch" placeholder="main" />
        <span />
        <button type="submit">Add cron job</button>
      </form>
      {error && <Problem error={error} />}
    </section>
  );
}
