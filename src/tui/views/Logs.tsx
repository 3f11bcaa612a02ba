// Follows a job's output (or a managed job's, across its recoveries). Chunks land in a fixed ring
// (TextLog) outside React state, parsed once as they arrive; the screen is refreshed at most every
// REFRESH_MS and lays out only the rows on screen. k9s's keys: s autoscroll, f fullscreen, w wrap,
// t timestamps, / search, 0 all ranks, 1…9 one rank (its container picker).
import { useEffect, useMemo, useRef, useState } from 'react';
import { Box } from 'ink';
import type { StreamHandle } from '../../client/types.js';
import type { LogStreamItem } from '../../protocol/api.js';
import { TERMINAL_MANAGED_STATUSES } from '../../protocol/model.js';
import { useData, useDeps, useUi, type TopDeps } from '../context.js';
import { RANK_COMMANDS } from '../keys/commands.js';
import { PRIORITY, useKeyLayer, useKeymap, type KeyAction } from '../keys/dispatcher.js';
import { displayKey } from '../keys/commands.js';
import { liveCluster } from '../render/rows.js';
import { TextLog } from '../state/textlog.js';
import type { TuiData } from '../state/reducer.js';
import { followLog } from '../data/log-stream.js';
import { TextRows } from '../components/TextRows.js';
import { Line } from '../components/Lines.js';
import { styledLine } from '../render/styled.js';
import { useTextView } from './useText.js';

const REFRESH_MS = 50;
/** "2,000" (one formatter: toLocaleString builds a new one on every call, ~0.5 ms) */
const THOUSANDS = new Intl.NumberFormat('en-US');
export const LOG_CAPACITY = 10_000;

export type LogSource =
  | { kind: 'job'; cluster: string; job?: number }
  | { kind: 'managed'; id: number }
  /** a service's controller or load balancer log */
  | { kind: 'serve'; service: string; target: 'controller' | 'lb' };

const serveTarget = (t: 'controller' | 'lb') => (t === 'lb' ? 'load balancer' : 'controller');

function sourceLabel(src: LogSource): string {
  if (src.kind === 'managed') return `managed job ${src.id}`;
  if (src.kind === 'serve') return `service ${src.service} (${serveTarget(src.target)})`;
  return src.job !== undefined ? `${src.cluster}/${src.job}` : src.cluster;
}

/** The CLI command that prints the whole log (named when the view keeps only the last lines). */
function fullLogCommand(src: LogSource): string {
  if (src.kind === 'managed') return `aloft jobs logs ${src.id}`;
  if (src.kind === 'serve') return `aloft serve logs --${src.target === 'lb' ? 'load-balancer' : 'controller'} ${src.service}`;
  return `aloft logs ${src.cluster}${src.job !== undefined ? ` ${src.job}` : ''}`;
}

// The whole log is streamed; the ring keeps the last LOG_CAPACITY lines (the memory bound) and
// the view says how many earlier ones it let go.
function opener(deps: TopDeps, src: LogSource): (onItem: (item: LogStreamItem) => void) => StreamHandle {
  if (src.kind === 'job') return (onItem) => deps.client.streamLogs({ cluster: src.cluster, job: src.job, follow: true }, onItem);
  if (src.kind === 'serve') {
    const serve = deps.streamServeLogs;
    if (!serve) return () => ({ done: Promise.reject(new Error('service logs are not available here')), abort: () => undefined });
    return (onItem) => serve({ service: src.service, target: src.target, follow: true }, onItem);
  }
  const stream = deps.streamManagedLogs;
  if (!stream) return () => ({ done: Promise.reject(new Error('managed job logs are not available here')), abort: () => undefined });
  return (onItem) => stream({ id: src.id, follow: true }, onItem);
}

/** What the end of the stream means, in words ("job 2 SUCCEEDED", "managed job 3 FAILED"). */
function endOf(src: LogSource, item: Extract<LogStreamItem, { type: 'end' }>, data: TuiData): string {
  if (src.kind === 'serve') return `service ${src.service} (${data.services.has(src.service) ? serveTarget(src.target) : 'gone'})`;
  if (src.kind === 'managed') {
    // The managed stream's end carries no record, and the event saying how the job ended may
    // still be on its way: name the status only when it is final (the header follows it live).
    const m = data.managed.get(src.id);
    return `managed job ${src.id}${m && TERMINAL_MANAGED_STATUSES.has(m.status) ? ` ${m.status}` : ''}`;
  }
  return item.job ? `job ${item.job.id} ${item.job.status}` : 'no such job';
}

/** Nodes the job runs on (the rank picker's range); undefined when unknown (managed jobs). */
function nodesOf(src: LogSource, data: TuiData): number | undefined {
  if (src.kind !== 'job' || src.job === undefined) return undefined;
  const c = data.clusters.get(src.cluster);
  return c ? data.jobs.get(`${c.uid}/${src.job}`)?.numNodes : undefined;
}

export function LogsView({ source, height, width }: { source: LogSource; height: number; width: number }) {
  const deps = useDeps();
  const ui = useUi();
  const data = useData();
  const keymap = useKeymap();
  const dataRef = useRef(data);
  dataRef.current = data;
  const logRef = useRef<TextLog | null>(null);
  logRef.current ??= new TextLog(LOG_CAPACITY);
  const log = logRef.current;
  const [version, setVersion] = useState(0);
  const [stamps, setStamps] = useState(false);
  const [rank, setRank] = useState<number | null>(null);
  const [ended, setEnded] = useState<string | null>(null);
  const [fullscreen, setFullscreen] = useState(false);
  const label = sourceLabel(source);

  useEffect(() => {
    const handle = followLog(
      opener(deps, source),
      {
        text: (t) => log.append(t),
        end: (item) => {
          const what = endOf(source, item, dataRef.current);
          log.note(`── end of log: ${what}${item.archived ? ' (archived copy)' : ''} ──`);
          setEnded(what);
        },
        fail: (msg) => {
          log.note(`── log stream failed: ${msg} ──`);
          setEnded('failed');
          ui.flash(`logs ${label}: ${msg}`, 'error');
        },
        reattaching: () => ui.flash(`logs ${label}: lost the daemon; the job keeps running. Re-attaching…`, 'warn'),
      },
      deps.reviveDaemon,
    );
    // Appends are batched: one render per REFRESH_MS however fast lines arrive.
    let seen = -1;
    const t = setInterval(() => {
      if (log.version !== seen) {
        seen = log.version;
        setVersion(seen);
      }
    }, REFRESH_MS);
    return () => {
      clearInterval(t);
      handle.abort();
    };
    // One stream per source (its label names it); ui/deps are stable for the app's life.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [label]);
  // fullscreen belongs to this view: leaving it gives the chrome back
  useEffect(() => {
    ui.setFullscreen(fullscreen);
  }, [fullscreen, ui]);
  useEffect(() => () => ui.setFullscreen(false), [ui]);

  const nodes = nodesOf(source, data);
  // aloft's own lines (end of log) show whatever the rank; a one-node job's lines carry no prefix
  const only = useMemo(
    () =>
      rank === null
        ? undefined
        : { key: `rank=${rank}/${nodes}`, test: (l: TextLog, i: number) => l.meta(i) || l.rank(i) === rank || (rank === 0 && nodes === 1) },
    [rank, nodes],
  );
  const dropped = log.dropped;
  const body = Math.max(1, height - 1);
  const text = useTextView({
    log,
    version,
    height: body,
    width,
    only,
    stamps,
    follow: true,
    head: dropped ? `… ${THOUSANDS.format(dropped)} earlier line${dropped > 1 ? 's' : ''} not kept (${fullLogCommand(source)} for all)` : undefined,
  });

  const pickRank = (r: number | null) => {
    if (r !== null && nodes !== undefined && r >= nodes) {
      return ui.flash(`${label} runs on ${nodes} node${nodes === 1 ? '' : 's'}: ranks 0${nodes > 1 ? `–${nodes - 1}` : ''}`, 'warn');
    }
    setRank(r);
  };
  const multiNode = nodes === undefined || nodes > 1;
  const firstKey = (id: (typeof RANK_COMMANDS)[number]) => displayKey(keymap.get(id)?.[0] ?? '');
  const actions: KeyAction[] = [
    ...text.actions,
    { command: 'logs.follow', label: text.follow ? 'Autoscroll off' : 'Autoscroll on', run: () => text.setFollow(!text.follow) },
    { command: 'logs.fullscreen', label: fullscreen ? 'Exit fullscreen' : 'Fullscreen', run: () => setFullscreen((f) => !f) },
    { command: 'logs.timestamps', label: stamps ? 'Hide time' : 'Timestamps', run: () => setStamps((s) => !s) },
    { command: 'logs.rankAll', label: 'All ranks', run: () => pickRank(null), hideHint: !multiNode || rank === null },
    ...RANK_COMMANDS.map(
      (id, r): KeyAction => ({
        command: id,
        run: () => pickRank(r),
        ...(r === 0 ? { label: 'One rank', hintKey: `${firstKey(RANK_COMMANDS[0])}…${firstKey(RANK_COMMANDS[8])}` } : {}),
        hideHint: r > 0 || !multiNode,
      }),
    ),
  ];
  useKeyLayer({ priority: PRIORITY.view, actions, title: 'logs' });

  const flag = (on: boolean) => (on ? 'on' : 'off');
  const status = [
    label,
    `${log.length} lines${log.dropped ? ` (+${log.dropped} older dropped)` : ''}`,
    rank === null ? undefined : `rank ${rank}${rank === 0 ? ' (head)' : ''}: ${text.shown} lines`,
    text.searchStatus || undefined,
    `autoscroll ${flag(text.follow)} · wrap ${flag(text.wrap)} · timestamps ${flag(stamps)}`,
  ]
    .filter(Boolean)
    .join(' · ');
  return (
    <Box flexDirection="column" height={height}>
      {/* plain, not dimmed: it changes with every line that arrives, and a row without escape
          codes is laid out without Ink's per-character tokenizer (ink-output.ts plainRow) */}
      {text.searchLine ?? <Line text={styledLine([{ text: `${status}${ended ? ` · ended: ${ended}` : ''}${!ended || source.kind === 'managed' ? liveState(source, data) : ''}` }], width)} />}
      <TextRows rows={text.window.rows} height={body} empty={ended ? 'no output' : rank !== null || text.searchStatus.includes('only matches') ? 'no matching lines' : 'waiting for output…'} />
    </Box>
  );
}

/** The source's state now: the cluster's status, or where the managed job is and how often it recovered. */
function liveState(src: LogSource, data: TuiData): string {
  if (src.kind === 'job') {
    const c = data.clusters.get(src.cluster);
    return c ? ` · ${c.status}` : '';
  }
  if (src.kind === 'serve') {
    const svc = data.services.get(src.service);
    return svc ? ` · ${svc.status}` : '';
  }
  const m = data.managed.get(src.id);
  if (!m) return '';
  const on = liveCluster(m);
  const where = on ? ` on ${on}` : '';
  return ` · ${m.status}${where}${m.recoveries ? ` · recoveries ${m.recoveries}` : ''}`;
}
