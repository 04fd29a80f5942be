import { useState } from 'preact/hooks';
import { api, ApiError, token } from '../api.ts';
import { navigate } from '../router.ts';

/** One field: the token is kept in this browser (localStorage) and sent as a Bearer header. */
export function Login() {
  const [value, setValue] = useState('');
  const [error, setError] = useState('');
  const submit = async (event: Event) => {
    event.preventDefault();
    const previous = token.get();
    token.set(value.trim());
    try {
      await api('/api/user/repos');
      navigate('/');
    } catch (failure) {
      token.set(previous);
      setError(failure instanceof ApiError && failure.status === 401 ? 'That token was refused: check it and try again.' : String((failure as Error).message));
    }
  };
  return (
    <main class="narrow">
      <h1>Log in</h1>
      <p>Paste an API token (the admin token is in <code>.runlog/admin-token</code> for <code>runlog serve</code>). Public repositories can be read without one.</p>
      <form onSubmit={submit} class="stack">
        <label for="token">Token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        {error && <p role="alert" class="error">{error}</p>}
        <div class="row">
          <button type="submit">Log in</button>
          <a href="/">Continue without a token</a>
        </div>
      </form>
    </main>
  );
}
