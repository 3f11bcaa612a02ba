// Follows a job's output: chunks go into a bounded buffer outside React state; the screen is
// refreshed at most every REFRESH_MS, and only the visible window is rendered. The same view shows
// a cluster job's log or a managed job's log across its recoveries.
import { useEffect, useRef, useState } from 'react';
import { Box, Text } from 'ink';
import type { StreamHandle } from '../../client/types.js';
import type { LogStreamItem } from '../../protocol/api.js';
import { TERMINAL_MANAGED_STATUSES } from '../../protocol/model.js';
import { errorMessage } from '../../util/errors.js';
import { useData, useDeps, useUi, type TopDeps } from '../context.js';
import { PRIORITY, useKeyLayer, type KeyAction } from '../keys/dispatcher.js';
import { formatClock } from '../render/format.js';
import { liveCluster } from '../render/rows.js';
import { LogBuffer, logWindow, withHead, type LogLine, type LogLines } from '../state/logbuffer.js';
import type { TuiData } from '../state/reducer.js';

const REFRESH_MS = 50;
export const LOG_CAPACITY = 10_000;

export type LogSource = { kind: 'job'; cluster: string; job?: number } | { kind: 'managed'; id: number };

function sourceLabel(src: LogSource): string {
  if (src.kind === 'managed') return `managed job ${src.id}`;
  return src.job !== undefined ? `${src.cluster}/${src.job}` : src.cluster;
}

/** The CLI command that prints the whole log (named when the view keeps only the last lines). */
function fullLogCommand(src: LogSource): string {
  if (src.kind === 'managed') return `aloft jobs logs ${src.id}`;
  return `aloft logs ${src.cluster}${src.job !== undefined ? ` ${src.job}` : ''}`;
}

// The whole log is streamed; the buffer keeps the last LOG_CAPACITY lines (the memory bound) and
// the view says how many earlier ones it let go.
function openStream(deps: TopDeps, src: LogSource, onItem: (item: LogStreamItem) => void): StreamHandle {
  if (src.kind === 'job') return deps.client.streamLogs({ cluster: src.cluster, job: src.job, follow: true }, onItem);
  if (!deps.streamManagedLogs) return { done: Promise.reject(new Error('managed job logs are not available here')), abort: () => undefined };
  return deps.streamManagedLogs({ id: src.id, follow: true }, onItem);
}

/** What the end of the stream means, in words ("job 2 SUCCEEDED", "managed job 3 FAILED"). */
function endOf(src: LogSource, item: Extract<LogStreamItem, { type: 'end' }>, data: TuiData): string {
  if (src.kind === 'managed') {
    // The managed stream's end carries no record, and the event saying how the job ended may
    // still be on its way: name the status only when it is final (the header follows it live).
    const m = data.managed.get(src.id);
    return `managed job ${src.id}${m && TERMINAL_MANAGED_STATUSES.has(m.status) ? ` ${m.status}` : ''}`;
  }
  return item.job ? `job ${item.job.id} ${item.job.status}` : 'no such job';
}

export function LogsView({ source, height, width }: { source: LogSource; height: number; width: number }) {
  const deps = useDeps();
  const ui = useUi();
  const data = useData();
  const dataRef = useRef(data);
  dataRef.current = data;
  const bufRef = useRef<LogBuffer | null>(null);
  bufRef.current ??= new LogBuffer(LOG_CAPACITY);
  const buf = bufRef.current;
  const [, setShown] = useState(0);
  const [follow, setFollow] = useState(true);
  const [wrap, setWrap] = useState(false);
  const [stamps, setStamps] = useState(false);
  const [top, setTop] = useState(0);
  const [ended, setEnded] = useState<string | null>(null);
  const label = sourceLabel(source);

  useEffect(() => {
    const handle = openStream(deps, source, (item) => {
      if (item.type === 'text') buf.append(item.text);
      else {
        const what = endOf(source, item, dataRef.current);
        buf.note(`── end of log: ${what}${item.archived ? ' (archived copy)' : ''} ──`);
        setEnded(what);
      }
    });
    handle.done.catch((err: unknown) => {
      const msg = errorMessage(err);
      buf.note(`── log stream failed: ${msg} ──`);
      setEnded('failed');
      ui.flash(`logs ${label}: ${msg}`, 'error');
    });
    let seen = -1;
    const t = setInterval(() => {
      if (buf.version !== seen) {
        seen = buf.version;
        setShown(seen);
      }
    }, REFRESH_MS);
    return () => {
      clearInterval(t);
      handle.abort();
    };
    // One stream per source (its label names it); ui/deps are stable for the app's life.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [label]);

  const body = Math.max(1, height - 1);
  const dropped = buf.totalDropped();
  const lines: LogLines = dropped
    ? withHead(buf, {
        text: `… ${dropped.toLocaleString('en-US')} earlier line${dropped > 1 ? 's' : ''} not kept (${fullLogCommand(source)} for all)`,
        ts: 0,
        meta: true,
      })
    : buf;
  const prefix = stamps ? (l: LogLine) => (l.meta && !l.ts ? '' : `${formatClock(l.ts)} `) : () => '';
  const win = logWindow(lines, { height: body, width, wrap, follow, top, prefix });
  const scrollTo = (t: number) => {
    setFollow(false);
    setTop(Math.max(0, Math.min(t, Math.max(0, lines.length - 1))));
  };
  const actions: KeyAction[] = [
    { command: 'nav.up', run: () => scrollTo(win.top - 1), hideHint: true },
    { command: 'nav.down', run: () => (follow ? undefined : scrollTo(win.top + 1)), hideHint: true },
    { command: 'nav.pageUp', run: () => scrollTo(win.top - body), hideHint: true },
    { command: 'nav.pageDown', run: () => (follow ? undefined : scrollTo(win.top + body)), hideHint: true },
    { command: 'nav.top', run: () => scrollTo(0), hideHint: true },
    { command: 'nav.bottom', run: () => setFollow(true), hideHint: true },
    {
      command: 'logs.follow',
      label: follow ? 'Autoscroll off' : 'Autoscroll on',
      // turning autoscroll off keeps the lines on screen where they are
      run: () => (follow ? scrollTo(win.top) : setFollow(true)),
    },
    { command: 'logs.wrap', label: wrap ? 'Unwrap' : 'Wrap', run: () => setWrap((w) => !w) },
    { command: 'logs.timestamps', label: stamps ? 'Hide time' : 'Timestamps', run: () => setStamps((s) => !s) },
  ];
  useKeyLayer({ priority: PRIORITY.view, actions, title: 'logs' });

  const flag = (on: boolean) => (on ? 'on' : 'off');
  return (
    <Box flexDirection="column" height={height}>
      <Text wrap="truncate" dimColor>
        {label} · {buf.length} lines{dropped ? ` (+${dropped} older dropped)` : ''} · autoscroll {flag(follow)} · wrap{' '}
        {flag(wrap)} · timestamps {flag(stamps)}
        {ended ? ` · ended: ${ended}` : ''}
        {!ended || source.kind === 'managed' ? liveState(source, data) : ''}
      </Text>
      {win.rows.length === 0 ? (
        <Text dimColor>{ended ? 'no output' : 'waiting for output…'}</Text>
      ) : (
        win.rows.map((r, i) => (
          <Text key={i} wrap="truncate" dimColor={r.meta}>
            {r.text || ' '}
          </Text>
        ))
      )}
    </Box>
  );
}

/** The source's state now: the cluster's status, or where the managed job is and how often it recovered. */
function liveState(src: LogSource, data: TuiData): string {
  if (src.kind === 'job') {
    const c = data.clusters.get(src.cluster);
    return c ? ` · ${c.status}` : '';
  }
  const m = data.managed.get(src.id);
  if (!m) return '';
  const on = liveCluster(m);
  const where = on ? ` on ${on}` : '';
  return ` · ${m.status}${where}${m.recoveries ? ` · recoveries ${m.recoveries}` : ''}`;
}
