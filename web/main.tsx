import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { token } from './api.ts';
import { Build } from './pages/build.tsx';
import { Builds } from './pages/builds.tsx';
import { Login } from './pages/login.tsx';
import { Queue } from './pages/queue.tsx';
import { Repos } from './pages/repos.tsx';
import { Settings } from './pages/settings.tsx';
import { navigate, onLinkClick, useRoute, type Route } from './router.ts';

const THEME_KEY = 'runlog.theme';

function useTheme(): [string, () => void] {
  const [theme, setTheme] = useState(() => localStorage.getItem(THEME_KEY) ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem(THEME_KEY, theme);
  }, [theme]);
  return [theme, () => setTheme(theme === 'dark' ? 'light' : 'dark')];
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'login':
      return <Login />;
    case 'repos':
      return <Repos />;
    case 'queue':
      return <Queue />;
    case 'builds':
      return <Builds slug={route.slug} />;
    case 'settings':
      return <Settings slug={route.slug} />;
    case 'build':
      return <Build slug={route.slug} number={route.number} stage={route.stage} step={route.step} tab={route.tab} />;
  }
}

function App() {
  const route = useRoute();
  const [theme, toggleTheme] = useTheme();
  const signedIn = token.get() !== '';
  useEffect(() => {
    const title = 'slug' in route ? route.slug : route.page;
    document.title = `${title} · runlog`;
  }, [route]);
  return (
    <div onClick={onLinkClick as any}>
      <a class="skip" href="#content">
        Skip to content
      </a>
      <header class="top row">
        <a href="/" class="brand">
          runlog
        </a>
        <nav class="row" aria-label="main">
          <a href="/">Repositories</a>
          <a href="/queue">Queue</a>
        </nav>
        <span class="spacer" />
        <button type="button" class="quiet" onClick={toggleTheme} aria-label={`switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}>
          {theme === 'dark' ? '☀' : '☾'}
        </button>
        {signedIn ? (
          <button
            type="button"
            class="quiet"
            onClick={() => {
              token.set('');
              navigate('/login');
            }}
          >
            Log out
          </button>
        ) : (
          <a href="/login">Log in</a>
        )}
      </header>
      <div id="content">
        <Page route={route} />
      </div>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
