import { posix } from 'node:path';

/**
 * The workspace: the volume the repository is cloned into, mounted at `base` in every
 * step, with each step starting in `path` (drone-runner-docker `engine/compiler/workspace.go`):
 * - nothing set: `/drone/src`;
 * - `path` absolute and no `base`: both are that path;
 * - `path` relative: under `base`, which defaults to `/drone/src` (the Drone 1.0 form);
 * - on Windows, the same paths on drive `c:` with backslashes.
 * A workspace inside a system directory (`/`, `/etc`, `/var/run`, ...) is replaced by
 * `/drone/src`, as Drone does, since mounting a volume there would hijack the container.
 */
export interface Workspace {
  /** Where the workspace volume is mounted. */
  base: string;
  /** The directory steps start in; `DRONE_WORKSPACE`. */
  path: string;
  /** `path` relative to `base`; `DRONE_WORKSPACE_PATH`. */
  relative: string;
}

const DEFAULT = '/drone/src';

export function workspaceOf(spec: { base?: string; path?: string } | undefined, os: string): Workspace {
  let base = spec?.base ?? '';
  let relative = spec?.path ?? '';
  if (base === '') {
    if (relative.startsWith('/')) {
      base = relative;
      relative = '';
    } else {
      base = DEFAULT;
    }
  }
  let path = posix.join(base, relative);
  if (isRestricted(path)) {
    base = DEFAULT;
    relative = '';
    path = DEFAULT;
  }
  if (os === 'windows') return { base: windowsDrive(base), path: windowsDrive(path), relative: relative.replaceAll('/', '\\') };
  return { base, path, relative };
}

export function restrictedWorkspace(spec: { base?: string; path?: string } | undefined): boolean {
  if (!spec || (!spec.base && !spec.path)) return false;
  const base = spec.base || (spec.path?.startsWith('/') ? '' : DEFAULT);
  return isRestricted(posix.join(base || '/', spec.path ?? ''));
}

/** drone-runner-docker `internal/docker/container` `IsRestrictedVolume`. */
function isRestricted(path: string): boolean {
  const p = posix.resolve('/', path).toLowerCase();
  if (p === '/' || p === '/etc' || p === '/var') return true;
  const trees = ['/etc/docker', '/var/run', '/proc', '/usr/local/bin', '/usr/local/sbin', '/usr/bin', '/bin', '/mnt', '/mount', '/media', '/sys', '/dev'];
  return trees.some((tree) => p === tree || p.startsWith(`${tree}/`));
}

function windowsDrive(path: string): string {
  return `c:${path.replaceAll('/', '\\')}`;
}
