// The chrome around the active view: header, breadcrumbs, hint bar, flash / input line.
import { Box } from 'ink';
import type { ClusterRecord, ClusterStatus, ManagedJobStatus } from '../../protocol/model.js';
import { ACTIVE_JOB_STATUSES, JOB_STATUSES, MANAGED_JOB_STATUSES, TERMINAL_MANAGED_STATUSES } from '../../protocol/model.js';
import { useData, useDeps, useNav, useUiState, type TopDeps } from '../context.js';
import { COMMANDS, displayKey } from '../keys/commands.js';
import { useActiveLayers, useKeymap, useModalTop } from '../keys/dispatcher.js';
import { formatDollars } from '../render/format.js';
import { statusColour } from '../render/colors.js';
import { segsWidth, styledLine, type Seg } from '../render/styled.js';
import { Line } from './Lines.js';
import { viewTitle } from '../state/nav.js';
import { isSortable } from '../views/registry.js';
import type { TuiData } from '../state/reducer.js';

const CLUSTER_STATUS_ORDER: readonly ClusterStatus[] = ['INIT', 'UP', 'STOPPED', 'TERMINATED'];
const rank = (order: readonly string[], k: string) => {
  const i = order.indexOf(k);
  return i < 0 ? order.length : i;
};

/** Header numbers. `usableInfra` is the daemon's list of infra usable here, when it sends one. */
export function summarize(data: TuiData, usableInfra?: readonly string[]) {
  const clusters = new Map<string, number>();
  const jobs = new Map<string, number>();
  const infra = new Set<string>();
  let hourly = 0;
  for (const c of data.clusters.values() as Iterable<ClusterRecord>) {
    clusters.set(c.status, (clusters.get(c.status) ?? 0) + 1);
    infra.add(c.cloud);
    if (c.status !== 'STOPPED') hourly += c.hourlyPrice || 0; // cloud VMs bill while INIT (provisioning, agent lost) too
  }
  for (const j of data.jobs.values()) {
    if (ACTIVE_JOB_STATUSES.has(j.status)) jobs.set(j.status, (jobs.get(j.status) ?? 0) + 1);
  }
  const managed = new Map<ManagedJobStatus, number>();
  for (const m of data.managed.values()) {
    if (!TERMINAL_MANAGED_STATUSES.has(m.status)) managed.set(m.status, (managed.get(m.status) ?? 0) + 1);
  }
  // In lifecycle order, so the line reads the same whatever order the jobs arrived in.
  const managedByState = MANAGED_JOB_STATUSES.filter((st) => managed.has(st)).map((st) => [st, managed.get(st)!] as const);
  return {
    clusters,
    jobs,
    infra: usableInfra ? [...usableInfra] : [...infra].sort(),
    infraAvailable: usableInfra !== undefined,
    managed: managedByState,
    managedTotal: data.managed.size,
    hourly,
  };
}

/** The two header lines, as segments (pure: data in, segments out). */
export function headerSegs(data: TuiData, home: string, info: TopDeps['info']): [Seg[], Seg[]] {
  const s = summarize(data, info?.infra);
  const version = info ? `daemon ${info.version}` : 'daemon ?';
  const first: Seg[] = [
    { text: 'aloft', bold: true, color: 'cyan' },
    { text: ' ' },
    { text: version, dim: true },
    { text: ' · ALOFT_HOME ' },
    { text: home, dim: true },
    { text: ' · ' },
    s.infraAvailable ? { text: `infra available: ${s.infra.length ? s.infra.join(', ') : 'none'}` } : { text: `infra ${s.infra.length ? s.infra.join(', ') : '-'}` },
  ];
  // Fixed order (lifecycle), whatever order the records arrived in.
  const counts = (m: Map<string, number>, order: readonly string[]): Seg[] =>
    [...m.entries()]
      .sort(([a], [b]) => rank(order, a) - rank(order, b) || a.localeCompare(b))
      .flatMap(([k, n]): Seg[] => [{ text: ' ' }, { text: k, color: statusColour(k) }, { text: ` ${n}` }]);
  const hourly = formatDollars(s.hourly) === '-' ? '$0.00' : formatDollars(s.hourly);
  const second: Seg[] = [
    { text: `clusters ${data.clusters.size}` },
    ...counts(s.clusters, CLUSTER_STATUS_ORDER),
    { text: ' · jobs' },
    ...(s.jobs.size ? counts(s.jobs, JOB_STATUSES) : [{ text: ' idle' }]),
    { text: ' · UP ' },
    { text: `${hourly}/hr`, color: 'green' },
  ];
  if (s.managedTotal > 0) {
    second.push({ text: ' · managed:' });
    if (s.managed.length === 0) second.push({ text: ' idle' });
    s.managed.forEach(([st, n], i) => second.push({ text: `${i > 0 ? ',' : ''} ${n} ` }, { text: st.toLowerCase(), color: statusColour(st) }));
  }
  if (data.services.size > 0) {
    const ready = [...data.services.values()].filter((x) => x.status === 'READY').length;
    second.push({ text: ` · services ${data.services.size}` }, ...(ready ? [{ text: ' ' }, { text: 'READY', color: statusColour('READY') }, { text: ` ${ready}` }] : []));
  }
  return [first, second];
}

export function Header({ width }: { width: number }) {
  const data = useData();
  const deps = useDeps();
  const [first, second] = headerSegs(data, deps.home, deps.info);
  return (
    <Box flexDirection="column" width={width}>
      <Line text={styledLine(first, width)} />
      <Line text={styledLine(second, width)} />
    </Box>
  );
}

export function Crumbs({ width }: { width: number }) {
  const nav = useNav();
  const data = useData();
  const top = nav[nav.length - 1];
  const banner =
    data.connection === 'connected'
      ? null
      : data.connection === 'reconnecting'
        ? `reconnecting…${data.connectionDetail ? ` (${data.connectionDetail})` : ''}`
        : data.connection === 'closed'
          ? 'disconnected'
          : 'connecting…';
  const segs: Seg[] = nav.map((e, i) => {
    const last = i === nav.length - 1;
    return { text: `${i > 0 ? ' › ' : ''}${viewTitle(e.view)}`, ...(last ? { bold: true, color: 'cyan' as const } : {}) };
  });
  if (top?.filter) segs.push({ text: ` /${top.filter}`, color: 'yellow' });
  if (top && isSortable(top.view.kind)) segs.push({ text: ` sort:${top.sort}${top.reverse ? '↓' : '↑'}`, dim: true });
  // the banner keeps its place on the right; the crumbs give way
  const right: Seg[] = banner ? [{ text: ` ${banner}`, color: 'yellow' }] : [];
  const room = Math.max(0, width - segsWidth(right));
  const leftText = styledLine(segs, room);
  const pad = ' '.repeat(Math.max(0, room - Math.min(room, segsWidth(segs))));
  return <Line text={leftText + (right.length ? pad + styledLine(right, width - room) : '')} />;
}

export function HintBar({ width }: { width: number }) {
  const layers = useActiveLayers();
  const modal = useModalTop();
  const keymap = useKeymap();
  const parts: Array<{ key: string; label: string }> = [];
  const seen = new Set<string>();
  // A dialog, input line or overlay has the keyboard: its keys, not the view's under it.
  if (modal) parts.push(...(modal.hints ?? [{ key: 'esc', label: 'close' }]));
  // General keys first: they are short and must not be cut off by a long view menu.
  else for (const l of [...layers].reverse()) {
    for (const a of l.actions) {
      if (a.hideHint || seen.has(a.command)) continue;
      seen.add(a.command);
      const key = keymap.get(a.command)?.[0];
      if (!key) continue;
      parts.push({ key: a.hintKey ?? displayKey(key), label: (a.label ?? COMMANDS[a.command].help).toLowerCase() });
    }
  }
  const segs: Seg[] = [];
  let used = 0;
  for (const p of parts) {
    const w = p.key.length + 1 + p.label.length + 2;
    if (used + w > width) break;
    segs.push({ text: p.key, color: 'cyan' }, { text: ' ' }, { text: p.label, dim: true }, { text: '  ' });
    used += w;
  }
  return <Line text={styledLine(segs, width)} />;
}

export function FlashLine({ width }: { width: number }) {
  const ui = useUiState();
  if (!ui.flash) return <Line text="" />;
  const colour = ui.flash.level === 'error' ? 'red' : ui.flash.level === 'warn' ? 'yellow' : 'green';
  return <Line text={styledLine([{ text: ui.flash.text.split('\n')[0]!, color: colour }], width)} />;
}
