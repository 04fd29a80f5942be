import { useEffect, useRef } from 'preact/hooks';
import { subscribe } from './sse.ts';

/**
 * Calls `refresh` whenever the server's build feed (`/api/stream`) reports a change, at most
 * every 250 ms; where the feed is not available, every `pollMs` instead. `active` false
 * (everything shown has finished) stops both.
 */
export function useLiveRefresh(refresh: () => void, active: boolean, pollMs = 1500): void {
  const latest = useRef(refresh);
  latest.current = refresh;
  useEffect(() => {
    if (!active) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let poller: ReturnType<typeof setInterval> | undefined;
    const soon = () => {
      timer ??= setTimeout(() => {
        timer = undefined;
        latest.current();
      }, 250);
    };
    const close = subscribe('/api/stream', {
      onEvent: soon,
      onOpen: soon,
      onUnavailable: () => {
        poller = setInterval(() => latest.current(), pollMs);
      },
    });
    return () => {
      close();
      clearTimeout(timer);
      clearInterval(poller);
    };
  }, [active, pollMs]);
}
