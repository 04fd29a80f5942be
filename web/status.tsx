const SYMBOLS: Record<string, string> = {
  success: '✓',
  failure: '✗',
  error: '!',
  killed: '■',
  declined: '⊘',
  skipped: '↷',
  running: '●',
  pending: '○',
  blocked: '⏸',
  waiting: '○',
  waiting_on_dependencies: '○',
};

/** A status as a symbol and a word: colour is never the only carrier (colour-blind users, screen readers). */
export function Status({ status, compact = false }: { status: string; compact?: boolean }) {
  const word = status.replaceAll('_', ' ');
  return (
    <span class={`status status-${status}`} title={word}>
      <span aria-hidden="true">{SYMBOLS[status] ?? '○'}</span>
      {compact ? <span class="visually-hidden">{word}</span> : <span class="status-word">{word}</span>}
    </span>
  );
}

export function ago(unixSeconds: number): string {
  if (!unixSeconds) return '';
  const seconds = Math.max(0, Math.floor(Date.now() / 1000 - unixSeconds));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

export function duration(started: number, stopped: number): string {
  if (!started) return '';
  const end = stopped || Math.floor(Date.now() / 1000);
  const seconds = Math.max(0, end - started);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
}
