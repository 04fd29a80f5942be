import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Metadata that every event appended while `work` runs gets, under the append's own (an
 * explicit `actor` or `requestId` wins): how an HTTP request's id reaches the events it
 * causes without each route, decider call and `createBuild` passing it down. Both ways of
 * appending (`EventStore.append`, `appendToStream`) read it in `prepareEvents`, so none is
 * missed.
 *
 * The scope ends when `work` settles. A continuation `work` left behind — a loop or a
 * timer it started, a lazily made follower — still runs in its async context, but appends
 * nothing tagged after that: a request does not take the credit for what it merely started.
 * AsyncLocalStorage is in Node, Bun and Deno alike.
 */
type Scope = { readonly metadata: Readonly<Record<string, unknown>>; open: boolean };

const storage = new AsyncLocalStorage<Scope>();

export async function withEventMetadata<T>(metadata: Readonly<Record<string, unknown>>, work: () => Promise<T>): Promise<T> {
  const scope: Scope = { metadata, open: true };
  try {
    return await storage.run(scope, work);
  } finally {
    scope.open = false;
  }
}

/** What `withEventMetadata` set for the running code, or nothing outside one (or after it ended). */
export function scopedEventMetadata(): Readonly<Record<string, unknown>> {
  const scope = storage.getStore();
  return scope?.open ? scope.metadata : {};
}
