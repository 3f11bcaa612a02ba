// Follows a job's output: chunks go into a bounded buffer outside React state; the screen is
// refreshed at most every REFRESH_MS, and only the visible window is rendered.
import { useEffect, useRef, useState } from 'react';
import { Box, Text } from 'ink';
import { errorMessage } from '../../util/errors.js';
import { useData, useDeps, useUi } from '../context.js';
import { PRIORITY, useKeyLayer, type KeyAction } from '../keys/dispatcher.js';
import { formatClock } from '../render/format.js';
import { LogBuffer, logWindow, type LogLine } from '../state/logbuffer.js';

const REFRESH_MS = 50;
export const LOG_CAPACITY = 10_000;

export function LogsView({ cluster, job, height, width }: { cluster: string; job?: number; height: number; width: number }) {
  const deps = useDeps();
  const ui = useUi();
  const data = useData();
  const bufRef = useRef<LogBuffer | null>(null);
  bufRef.current ??= new LogBuffer(LOG_CAPACITY);
  const buf = bufRef.current;
  const [, setShown] = useState(0);
  const [follow, setFollow] = useState(true);
  const [wrap, setWrap] = useState(false);
  const [stamps, setStamps] = useState(false);
  const [top, setTop] = useState(0);
  const [ended, setEnded] = useState<string | null>(null);

  useEffect(() => {
    const handle = deps.client.streamLogs({ cluster, job, follow: true, tail: 1000 }, (item) => {
      if (item.type === 'text') buf.append(item.text);
      else {
        const what = item.job ? `job ${item.job.id} ${item.job.status}` : 'no such job';
        buf.note(`── end of log: ${what}${item.archived ? ' (archived copy)' : ''} ──`);
        setEnded(what);
      }
    });
    handle.done.catch((err: unknown) => {
      const msg = errorMessage(err);
      buf.note(`── log stream failed: ${msg} ──`);
      setEnded('failed');
      ui.flash(`logs ${cluster}: ${msg}`, 'error');
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
    // The stream is per (cluster, job); ui/deps are stable for the app's life.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [cluster, job]);

  const body = Math.max(1, height - 1);
  const prefix = stamps ? (l: LogLine) => `${formatClock(l.ts)} ` : () => '';
  const win = logWindow(buf, { height: body, width, wrap, follow, top, prefix });
  const scrollTo = (t: number) => {
    setFollow(false);
    setTop(Math.max(0, Math.min(t, Math.max(0, buf.length - 1))));
  };
  const actions: KeyAction[] = [
    { command: 'nav.up', run: () => scrollTo(win.top - 1), hideHint: true },
    { command: 'nav.down', run: () => (follow ? undefined : scrollTo(win.top + 1)), hideHint: true },
    { command: 'nav.pageUp', run: () => scrollTo(win.top - body), hideHint: true },
    { command: 'nav.pageDown', run: () => (follow ? undefined : scrollTo(win.top + body)), hideHint: true },
    { command: 'nav.top', run: () => scrollTo(0), hideHint: true },
    { command: 'nav.bottom', run: () => setFollow(true), hideHint: true },
    { command: 'logs.follow', label: follow ? 'Autoscroll off' : 'Autoscroll on', run: () => setFollow((f) => !f) },
    { command: 'logs.wrap', label: wrap ? 'Unwrap' : 'Wrap', run: () => setWrap((w) => !w) },
    { command: 'logs.timestamps', label: stamps ? 'Hide time' : 'Timestamps', run: () => setStamps((s) => !s) },
  ];
  useKeyLayer({ priority: PRIORITY.view, actions, title: 'logs' });

  const c = data.clusters.get(cluster);
  const dropped = buf.totalDropped();
  const flag = (on: boolean) => (on ? 'on' : 'off');
  return (
    <Box flexDirection="column" height={height}>
      <Text wrap="truncate" dimColor>
        {cluster}
        {job !== undefined ? `/${job}` : ''} · {buf.length} lines{dropped ? ` (+${dropped} older dropped)` : ''} · autoscroll{' '}
        {flag(follow)} · wrap {flag(wrap)} · timestamps {flag(stamps)}
        {ended ? ` · ended: ${ended}` : c ? ` · ${c.status}` : ''}
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
