import { ApiError } from './api.ts';

/** An error as the page shows it: what went wrong and what to do, never a stack. */
export function Problem({ error }: { error: Error }) {
  const unauthorized = error instanceof ApiError && (error.status === 401 || error.status === 403);
  return (
    <p role="alert" class="error">
      {error.message}
      {unauthorized && (
        <>
          {' '}
          <a href="/login">Log in with a token</a>.
        </>
      )}
    </p>
  );
}
