// `runlog verify`'s report in words, and as JSON for machines. Pure.
import type { VerifyReport } from './verify.ts';

const count = (n: number) => n.toLocaleString('en-US');
const plural = (n: number, word: string, words = `${word}s`) => `${count(n)} ${n === 1 ? word : words}`;
const show = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value ?? null));

export function formatVerifyReport(report: VerifyReport): string {
  const lines: string[] = [];
  const { chains, heads, views } = report;
  lines.push(
    `chains: ${plural(chains.streams, 'stream')}, ${plural(chains.events, 'event')} checked` +
      (chains.problems.length === 0 ? ': intact' : `: ${plural(chains.problems.length, 'problem')}`),
  );
  if (chains.heldBack) {
    lines.push(`  note: ${plural(chains.heldBack, 'event')} could not be read yet (a transaction still running elsewhere in the cluster holds them back) and ${chains.heldBack === 1 ? 'was' : 'were'} not checked; run verify again once it ends`);
  }
  for (const problem of chains.problems) {
    lines.push(`  ${problem.kind.toUpperCase().padEnd(9)}  ${problem.streamId} version ${problem.streamVersion}: ${problem.detail}`);
  }
  if (heads.length > 0) {
    lines.push(`heads: ${plural(heads.length, 'stream')} end${heads.length === 1 ? 's' : ''} before what the views or the manifest recorded`);
    for (const problem of heads) lines.push(`  ${problem.kind.toUpperCase().padEnd(9)}  ${problem.streamId} version ${problem.streamVersion}: ${problem.detail}`);
  }
  if (views === null) lines.push('views: not compared (--no-views)');
  else if (views.error !== undefined) lines.push(`views: ${views.error}`);
  else {
    const at = [...new Set(Object.values(views.checkpoints))].map((cp) => cp ?? 'the start').join(', ');
    const rows = views.tables.map((t) => `${t.table} ${count(t.liveRows)}`).join(', ');
    const differing = views.tables.reduce((sum, t) => sum + t.differing, 0);
    lines.push(`views: compared at checkpoint ${at} (${rows} rows)${differing === 0 ? ': identical to the log' : `: ${plural(differing, 'row')} differ${differing === 1 ? 's' : ''} from the log`}`);
    for (const difference of views.differences) {
      const key = Object.entries(difference.key).map(([column, value]) => `${column}=${String(value)}`).join(' ');
      if (difference.kind === 'missing') lines.push(`  MISSING    ${difference.table} ${key}: the log has this row, the live view does not`);
      else if (difference.kind === 'extra') lines.push(`  EXTRA      ${difference.table} ${key}: the live view has this row, the log does not`);
      else {
        const columns = difference.columns.map((c) => `${c.column} live ${show(c.live)}, from the log ${show(c.rebuilt)}`).join('; ');
        lines.push(`  DIFFERS    ${difference.table} ${key}: ${columns}`);
      }
    }
    const shown = views.differences.length;
    if (shown < differing) lines.push(`  … and ${count(differing - shown)} more (raise --max-differences to list them)`);
  }
  const seconds = (report.elapsedMs / 1000).toFixed(1);
  if (report.ok) lines.push(`result: intact (${seconds} s)`);
  else {
    const parts = [
      chains.problems.length > 0 && plural(chains.problems.length, 'chain problem'),
      heads.length > 0 && plural(heads.length, 'deleted or changed head', 'deleted or changed heads'),
      views?.error !== undefined && 'views not compared',
      views && views.error === undefined && views.differences.length > 0 && plural(views.tables.reduce((sum, t) => sum + t.differing, 0), 'view row', 'view rows') + ' wrong',
    ].filter(Boolean);
    lines.push(`result: NOT intact — ${parts.join(', ')} (${seconds} s)`);
  }
  return `${lines.join('\n')}\n`;
}

/** The report as one JSON document (`--json`). */
export const verifyReportJson = (report: VerifyReport) => ({
  ok: report.ok,
  scope: report.scope,
  chains: report.chains,
  heads: report.heads,
  views: report.views,
  elapsed_ms: Math.round(report.elapsedMs),
});
