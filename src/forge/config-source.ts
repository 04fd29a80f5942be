import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiBase, describeFailure, forgeRequest, hasApi, repoPath, type FetchLike, type ForgeAccess } from './forge-api.ts';

/**
 * Where a build's `.drone.yml` comes from: the forge's contents API at the commit (GitHub,
 * Gitea, GitLab, with the repo's token), or git itself for any other host (a shallow fetch
 * of the commit into a scratch repository). Configs are cached by (clone URL or slug, path,
 * commit sha): a commit's file never changes, so a redelivered hook or a restart reads no
 * forge. A branch name is never cached (it moves).
 */
export type ConfigRequest = {
  access: ForgeAccess;
  path: string;
  /** The commit sha; '' to read the tip of `ref`. */
  commit: string;
  /** The ref the commit is on (refs/heads/main, refs/pull/7/head): git fetches it when the sha alone is refused. */
  ref: string;
};

/** `commit`: the sha the text was (or would have been) read at, when the source knows it (git does once it fetched). */
export type ConfigResult = { ok: true; text: string; commit: string } | { ok: false; message: string; commit?: string };

export type ConfigSource = (request: ConfigRequest) => Promise<ConfigResult>;

const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

export function createConfigSource(options: { fetch?: FetchLike; cacheSize?: number; gitTimeoutMs?: number } = {}): ConfigSource {
  const cacheSize = options.cacheSize ?? 1000;
  const cache = new Map<string, ConfigResult & { ok: true }>();
  return async (request) => {
    const sha = request.commit.toLowerCase();
    const key = FULL_SHA.test(sha) ? `${request.access.forge}|${request.access.apiUrl}|${request.access.slug}|${request.access.cloneUrl}|${request.path}|${sha}` : undefined;
    const cached = key ? cache.get(key) : undefined;
    if (cached) return cached;
    const result = hasApi(request.access)
      ? await fromForgeApi(request.access, request, options.fetch)
      : await fromGit(request, options.gitTimeoutMs ?? 30_000);
    if (key && result.ok) {
      cache.set(key, result);
      if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
    }
    return result;
  };
}

async function fromForgeApi(access: ForgeAccess & { forge: 'github' | 'gitea' | 'gitlab' }, request: ConfigRequest, fetch?: FetchLike): Promise<ConfigResult> {
  const at = request.commit || request.ref.replace(/^refs\/heads\//, '');
  const ref = encodeURIComponent(at);
  const file = request.path.split('/').map(encodeURIComponent).join('/');
  const path =
    access.forge === 'github'
      ? `${repoPath(access)}/contents/${file}?ref=${ref}`
      : access.forge === 'gitea'
        ? `${repoPath(access)}/raw/${file}?ref=${ref}`
        : `${repoPath(access)}/repository/files/${encodeURIComponent(request.path)}/raw?ref=${ref}`;
  let response: Response;
  try {
    response = await forgeRequest(access, path, { accept: access.forge === 'github' ? 'application/vnd.github.raw+json' : '*/*', fetch });
  } catch (error) {
    return { ok: false, message: `${request.path}: could not reach ${apiBase(access)} to read it at ${at}: ${(error as Error).message}` };
  }
  if (response.status === 404) {
    await response.body?.cancel();
    return { ok: false, message: `${request.path}: not found in ${access.slug} at ${at}` };
  }
  if (!response.ok) return { ok: false, message: `${request.path}: ${(await describeFailure(response, `reading it at ${at}`)).message}` };
  return { ok: true, text: await response.text(), commit: request.commit };
}

/** git with a deadline; stdout as text. Rejects with git's own words on failure. */
function git(args: string[], cwd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      { cwd, timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true' } },
      (error, stdout, stderr) => (error ? reject(new Error(stderr.trim().split('\n').at(-1) || error.message)) : resolve(stdout)),
    );
  });
}

async function fromGit(request: ConfigRequest, timeoutMs: number): Promise<ConfigResult> {
  const url = request.access.cloneUrl;
  if (url === '') return { ok: false, message: `${request.path}: the repository has no clone URL and no forge API to read it from` };
  const dir = await mkdtemp(join(tmpdir(), 'runlog-config-'));
  const shown = `${request.commit || request.ref}`;
  try {
    await git(['init', '--quiet', '--bare'], dir, timeoutMs);
    const fetch = (what: string, depth: boolean) =>
      git(['-c', 'protocol.version=2', 'fetch', '--quiet', '--no-tags', ...(depth ? ['--depth=1'] : []), '--', url, what], dir, timeoutMs);
    let fetched = false;
    if (request.commit !== '') fetched = await fetch(request.commit, true).then(() => true, () => false);
    if (!fetched) {
      // A server that refuses a bare sha still serves the ref; the commit must then be in its history.
      try {
        await fetch(request.ref, request.commit === '');
      } catch (error) {
        return { ok: false, message: `${request.path}: git could not fetch ${shown} from ${redact(url)}: ${redact((error as Error).message)}` };
      }
    }
    // An abbreviated sha (git refuses to fetch one) was found in the ref's history: name the
    // commit in full, so the build and its links do too. Unknown there: no commit to report.
    let commit: string;
    try {
      commit = (await git(['rev-parse', '--verify', '--quiet', `${request.commit || 'FETCH_HEAD'}^{commit}`], dir, timeoutMs)).trim();
    } catch {
      return { ok: false, message: `commit: no commit '${request.commit}' in ${redact(url)} on ${request.ref}` };
    }
    try {
      const text = await git(['show', `${commit}:${request.path}`], dir, timeoutMs);
      return { ok: true, text, commit };
    } catch {
      return { ok: false, message: `${request.path}: not found in ${redact(url)} at ${commit}`, commit };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A clone URL's password (https://user:token@host) never reaches a message. */
const redact = (text: string) => text.replace(/(\w+:\/\/[^/:@\s]+):[^@/\s]+@/g, '$1:***@');
