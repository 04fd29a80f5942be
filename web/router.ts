import { useEffect, useState } from 'preact/hooks';

/** Drone's UI paths, so links people already share keep working. */
export type Route =
  | { page: 'login' }
  | { page: 'repos' }
  | { page: 'queue' }
  | { page: 'builds'; slug: string }
  | { page: 'settings'; slug: string }
  | { page: 'build'; slug: string; number: number; stage?: number; step?: number; tab: 'graph' | 'timeline' };

export function parseRoute(pathname: string, hash = ''): Route {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { page: 'repos' };
  if (parts[0] === 'login') return { page: 'login' };
  if (parts[0] === 'queue') return { page: 'queue' };
  if (parts.length === 1) return { page: 'repos' };
  const slug = `${parts[0]}/${parts[1]}`;
  if (parts.length === 2) return { page: 'builds', slug };
  if (parts[2] === 'settings') return { page: 'settings', slug };
  const number = Number(parts[2]);
  if (!Number.isInteger(number) || number < 1) return { page: 'builds', slug };
  const tab = hash === '#timeline' ? 'timeline' : 'graph';
  if (parts.length >= 5) return { page: 'build', slug, number, stage: Number(parts[3]), step: Number(parts[4]), tab };
  return { page: 'build', slug, number, tab };
}

export function navigate(path: string): void {
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function useRoute(): Route {
  const read = () => parseRoute(location.pathname, location.hash);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const update = () => setRoute(read());
    addEventListener('popstate', update);
    addEventListener('hashchange', update);
    return () => {
      removeEventListener('popstate', update);
      removeEventListener('hashchange', update);
    };
  }, []);
  return route;
}

/** Same-origin links move within the page; modified clicks (new tab) are left to the browser. */
export function onLinkClick(event: MouseEvent): void {
  const anchor = (event.target as Element | null)?.closest?.('a');
  if (!anchor || anchor.target || anchor.origin !== location.origin || event.defaultPrevented) return;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (anchor.hasAttribute('download')) return;
  if (anchor.pathname === location.pathname && anchor.hash) return;
  event.preventDefault();
  navigate(anchor.pathname + anchor.search + anchor.hash);
}
