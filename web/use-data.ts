import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.ts';

/** Loads with `load` when `key` changes; `reload` fetches again and keeps the old value until the new one is in. */
export function useData<T>(load: () => Promise<T>, key: string): { data?: T; error?: ApiError | Error; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: ApiError | Error; key: string }>({ key });
  const reload = useCallback(() => {
    load().then(
      (data) => setState({ data, key }),
      (error: Error) => setState((old) => ({ ...old, error, key })),
    );
  }, [key]);
  useEffect(() => {
    setState({ key });
    reload();
  }, [key]);
  return state.key === key ? { data: state.data, error: state.error, reload } : { reload };
}
