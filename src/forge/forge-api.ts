import type { Forge } from './hook-trigger.ts';

/**
 * How runlog reaches a repo's forge: its kind, API base, token (clear, in memory only) and
 * the repo's name there. `git` repos have no API: configs come through git, no statuses.
 */
export type ForgeAccess = {
  forge: Forge | 'git';
  /** API base without a trailing slash; '' for the forge's public default. */
  apiUrl: string;
  token: string;
  /** owner/name (GitLab: the project's full path). */
  slug: string;
  cloneUrl: string;
};

const PUBLIC_API: Record<Forge, string> = { github: 'https://api.github.com', gitlab: 'https://gitlab.com/api/v4', gitea: 'https://gitea.com/api/v1' };

export const apiBase = (access: ForgeAccess & { forge: Forge }) => (access.apiUrl || PUBLIC_API[access.forge]).replace(/\/+$/, '');

/** A path segment per forge: GitLab names a project by its URL-encoded full path. */
export const repoPath = (access: ForgeAccess & { forge: Forge }) =>
  access.forge === 'gitlab' ? `/projects/${encodeURIComponent(access.slug)}` : `/repos/${access.slug.split('/').map(encodeURIComponent).join('/')}`;

function authHeaders(access: ForgeAccess): Record<string, string> {
  if (access.token === '') return {};
  if (access.forge === 'gitlab') return { 'private-token': access.token };
  if (access.forge === 'gitea') return { authorization: `token ${access.token}` };
  return { authorization: `Bearer ${access.token}` };
}

/** Thrown for an answer the forge gave that is not what was asked for (status and a short excerpt). */
export class ForgeApiError extends Error {
  override readonly name = 'ForgeApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** One call to the forge's API, with the repo's token and a deadline (a hanging forge must not hold a webhook). */
export async function forgeRequest(
  access: ForgeAccess & { forge: Forge },
  path: string,
  init: { method?: string; body?: unknown; accept?: string; timeoutMs?: number; fetch?: FetchLike } = {},
): Promise<Response> {
  const url = `${apiBase(access)}${path}`;
  const headers: Record<string, string> = { accept: init.accept ?? 'application/json', 'user-agent': 'runlog', ...authHeaders(access) };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const doFetch = init.fetch ?? fetch;
  return doFetch(url, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
  });
}

/** A forge error's words without the token or a whole HTML page. */
export async function describeFailure(response: Response, what: string): Promise<ForgeApiError> {
  const text = (await response.text().catch(() => '')).replace(/\s+/g, ' ').slice(0, 200);
  return new ForgeApiError(response.status, `${what}: the forge answered ${response.status}${text ? ` (${text})` : ''}`);
}

export const hasApi = (access: ForgeAccess): access is ForgeAccess & { forge: Forge } => access.forge !== 'git';
