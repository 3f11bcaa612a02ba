// The chrome around the active view: header, breadcrumbs, hint bar, flash / input line.
import { Box, Text } from 'ink';
import type { ClusterRecord, ClusterStatus, ManagedJobStatus } from '../../protocol/model.js';
import { ACTIVE_JOB_STATUSES, JOB_STATUSES, MANAGED_JOB_STATUSES, TERMINAL_MANAGED_STATUSES } from '../../protocol/model.js';
import { useData, useDeps, useNav, useUiState } from '../context.js';
import { COMMANDS, displayKey } from '../keys/commands.js';
import { useActiveLayers, useKeymap, useModalTop } from '../keys/dispatcher.js';
import { formatDollars } from '../render/format.js';
import { statusColour } from '../render/colors.js';
import { viewTitle } from '../state/nav.js';
import type { TuiData } from '../state/reducer.js';

const SORTABLE = new Set(['clusters', 'jobs', 'requests', 'managed']);
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

export function Header({ width }: { width: number }) {
  const data = useData();
  const deps = useDeps();
  const s = summarize(data, deps.info?.infra);
  const version = deps.info ? `daemon ${deps.info.version}` : 'daemon ?';
  // Fixed order (lifecycle), whatever order the records arrived in.
  const counts = (m: Map<string, number>, order: readonly string[]) =>
    [...m.entries()].sort(([a], [b]) => rank(order, a) - rank(order, b) || a.localeCompare(b)).map(([k, n]) => (
      <Text key={k}>
        {' '}
        <Text color={statusColour(k)}>{k}</Text> {n}
      </Text>
    ));
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        <Text bold color="cyan">
          aloft
        </Text>{' '}
        <Text dimColor>{version}</Text> · ALOFT_HOME <Text dimColor>{deps.home}</Text> ·{' '}
        {s.infraAvailable ? (
          <>
            infra available: <Text>{s.infra.length ? s.infra.join(', ') : 'none'}</Text>
          </>
        ) : (
          <>
            infra <Text>{s.infra.length ? s.infra.join(', ') : '-'}</Text>
          </>
        )}
      </Text>
      <Text wrap="truncate">
        clusters {data.clusters.size}
        {counts(s.clusters, CLUSTER_STATUS_ORDER)} · jobs{s.jobs.size ? counts(s.jobs, JOB_STATUSES) : ' idle'} · UP <Text color="green">{formatDollars(s.hourly) === '-' ? '$0.00' : formatDollars(s.hourly)}/hr</Text>
        {s.managedTotal > 0 ? (
          <>
            {' '}
            · managed:
            {s.managed.length === 0
              ? ' idle'
              : s.managed.map(([st, n], i) => (
                  <Text key={st}>
                    {i > 0 ? ',' : ''} {n} <Text color={statusColour(st)}>{st.toLowerCase()}</Text>
                  </Text>
                ))}
          </>
        ) : null}
      </Text>
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
  return (
    <Box width={width}>
      <Box flexGrow={1}>
        <Text wrap="truncate">
          {nav.map((e, i) => (
            <Text key={i} bold={i === nav.length - 1} color={i === nav.length - 1 ? 'cyan' : undefined}>
              {i > 0 ? ' › ' : ''}
              {viewTitle(e.view)}
            </Text>
          ))}
          {top?.filter ? <Text color="yellow"> /{top.filter}</Text> : null}
          {top && SORTABLE.has(top.view.kind) ? <Text dimColor> sort:{top.sort}</Text> : null}
        </Text>
      </Box>
      {banner ? <Text color="yellow">{banner}</Text> : null}
    </Box>
  );
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
      parts.push({ key: displayKey(key), label: (a.label ?? COMMANDS[a.command].help).toLowerCase() });
    }
  }
  const shown: typeof parts = [];
  let used = 0;
  for (const p of parts) {
    const w = p.key.length + 1 + p.label.length + 2;
    if (used + w > width) break;
    shown.push(p);
    used += w;
  }
  return (
    <Text wrap="truncate">
      {shown.map((p, i) => (
        <Text key={i}>
          <Text color="cyan">{p.key}</Text> <Text dimColor>{p.label}</Text>
          {'  '}
        </Text>
      ))}
    </Text>
  );
}

export function FlashLine() {
  const ui = useUiState();
  if (!ui.flash) return <Text> </Text>;
  const colour = ui.flash.level === 'error' ? 'red' : ui.flash.level === 'warn' ? 'yellow' : 'green';
  return (
    <Text wrap="truncate" color={colour}>
      {ui.flash.text}
    </Text>
  );
}
