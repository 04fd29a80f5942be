import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, repoPath } from './api.ts';
import { parseAnsi, type Segment } from './ansi.ts';
import { subscribe } from './sse.ts';
import type { LogLine } from './types.ts';

type Props = { slug: string; number: number; stage: number; step: number; stepName: string; running: boolean };

/** A line of the stream: `{pos, out, time}` JSON as Drone's log API has it, or the bare text. */
function lineFrom(data: string, pos: number): LogLine {
  try {
    const parsed = JSON.parse(data) as Partial<LogLine>;
    if (typeof parsed.out === 'string') return { pos: parsed.pos ?? pos, out: parsed.out, time: parsed.time ?? 0 };
  } catch {
    // not JSON: the event's data is the line itself
  }
  return { pos, out: data, time: 0 };
}

/**
 * A step's log: streamed live while the step runs (SSE, or polling where the server has no
 * stream), ANSI colours, numbered lines that can be linked (#L12), follow/unfollow, download.
 */
export function LogView({ slug, number, stage, step, stepName, running }: Props) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [follow, setFollow] = useState(true);
  const [problem, setProblem] = useState('');
  const bottom = useRef<HTMLDivElement>(null);
  const logUrl = `${repoPath(slug)}/builds/${number}/logs/${stage}/${step}`;

  useEffect(() => {
    setLines([]);
    setProblem('');
    let cancelled = false;
    let poller: ReturnType<typeof setInterval> | undefined;
    const fetchAll = () =>
      api<LogLine[]>(logUrl).then(
        (all) => !cancelled && setLines(all),
        (error: Error) => !cancelled && setProblem(error.message),
      );
    if (!running) {
      fetchAll();
      return () => {
        cancelled = true;
      };
    }
    const close = subscribe(`/api/stream/${slug}/${number}/${stage}/${step}`, {
      onEvent: (event) => {
        if (event.event !== 'message') return; // `done` ends a step's log; only lines are kept
        setLines((old) => [...old, lineFrom(event.data, old.length)]);
      },
      onUnavailable: () => {
        fetchAll();
        poller = setInterval(fetchAll, 1000);
      },
    });
    return () => {
      cancelled = true;
      close();
      clearInterval(poller);
    };
  }, [logUrl, running]);

  useEffect(() => {
    if (follow && running) bottom.current?.scrollIntoView({ block: 'end' });
  }, [lines.length, follow, running]);

  // Styles carry across lines (a colour set on one line holds until reset), so lines are parsed in order.
  const rendered = useMemo(() => {
    let style = {};
    return lines.map((line) => {
      const parsed = parseAnsi(line.out.replace(/\n$/, ''), style);
      style = parsed.style;
      return parsed.segments;
    });
  }, [lines]);

  const download = useMemo(() => {
    const text = lines.map((line) => line.out).join('');
    return URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  }, [lines]);
  useEffect(() => () => URL.revokeObjectURL(download), [download]);

  return (
    <section class="log" aria-label={`log of ${stepName}`}>
      <header class="log-head row">
        <h2>{stepName}</h2>
        <label class="check">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} /> Follow
        </label>
        <a href={download} download={`${slug.replace('/', '-')}-${number}-${stage}-${step}.log`}>
          Download
        </a>
        <span class="muted" aria-live="polite">
          {lines.length} lines{running ? ' · running' : ''}
        </span>
      </header>
      {problem && (
        <p role="alert" class="error">
          {problem}
        </p>
      )}
      <div class="log-lines" role="log" aria-live="off">
        {rendered.map((segments, index) => (
          <LogRow key={index} number={index + 1} segments={segments} />
        ))}
        <div ref={bottom} />
      </div>
    </section>
  );
}

function LogRow({ number, segments }: { number: number; segments: Segment[] }) {
  const id = `L${number}`;
  return (
    <div class="log-line" id={id}>
      <a class="line-number" href={`#${id}`} aria-label={`line ${number}`}>
        {number}
      </a>
      <span class="line-text">
        {segments.map((segment, index) => (segment.classes.length ? <span key={index} class={segment.classes.join(' ')}>{segment.text}</span> : segment.text))}
      </span>
    </div>
  );
}
