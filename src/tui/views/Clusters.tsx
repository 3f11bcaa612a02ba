import { useMemo, useRef } from 'react';
import { ACTIVE_JOB_STATUSES, TERMINAL_MANAGED_STATUSES, type ClusterRecord } from '../../protocol/model.js';
import { PRIORITY, useKeyLayer, type KeyAction } from '../keys/dispatcher.js';
import { CLUSTER_COLUMNS, clusterRow, lastJobText, shownJob } from '../render/rows.js';
import { clusterComparator, directed } from '../render/sort.js';
import { RowCache, sortReusing } from '../render/derive.js';
import { activeJobsByCluster, jobsOfCluster, lastJobOf, type TuiData } from '../state/reducer.js';
import { ListTable } from '../components/ListTable.js';
import { useList } from './useList.js';
import { useTableView } from './useTableView.js';
import { onSelected } from './row-actions.js';
import { parseAutostop } from './autostop.js';
import { describeActions } from './describe-keys.js';

const SORT_COLUMNS = { name: 'NAME', age: 'AGE', status: 'STATUS' } as const;

export function ClustersView({ height, width }: { height: number; width: number }) {
  const { data, deps, ui, nav, now, sort, columns } = useTableView(CLUSTER_COLUMNS, SORT_COLUMNS);
  // Running work first in LAST JOB: an index of active jobs, rebuilt only when jobs change.
  const active = useMemo(() => activeJobsByCluster(data.jobs), [data.jobs]);
  const shown = (c: ClusterRecord) => shownJob(c, active.get(c.uid), lastJobOf(data, c));
  // One cluster changing re-sorts and re-formats only what it must (see derive.ts).
  // (Both caches check themselves, so a render React throws away cannot leave them wrong.)
  const derived = useRef<{ sorted?: ClusterRecord[]; rows: RowCache<ClusterRecord, string> }>(undefined);
  derived.current ??= { rows: new RowCache<ClusterRecord, string>(clusterRow) };
  const all = useMemo(() => {
    const d = derived.current!;
    d.sorted = sortReusing(data.clusters, d.sorted, (c) => c.name, directed(clusterComparator(sort.key), sort.reverse));
    return d.rows.rowsOf(d.sorted, now, (c) => lastJobText(shown(c)));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [data, active, now, sort.key, sort.reverse]);
  const list = useList(all, height - 1);
  const client = deps.client;
  /** the cluster selected when the key runs */
  const selected = () => {
    const k = list.current();
    return k === undefined ? undefined : data.clusters.get(k);
  };
  const onCluster = onSelected(selected, ui, 'no cluster selected');
  const needCluster = (fn: (name: string, cluster: ClusterRecord) => void) => onCluster((c) => fn(c.name, c));
  const actions: KeyAction[] = [
    ...list.actions,
    { command: 'nav.enter', label: 'Jobs', run: needCluster((name) => nav({ type: 'push', view: { kind: 'jobs', cluster: name } })) },
    { command: 'view.jobs', run: needCluster((name) => nav({ type: 'push', view: { kind: 'jobs', cluster: name } })), hideHint: true },
    {
      command: 'view.logs',
      // the job LAST JOB shows: running work first
      run: needCluster((name, cluster) => {
        const job = shown(cluster)?.id;
        if (job === undefined) return ui.flash(`${name} has no jobs yet`, 'warn');
        nav({ type: 'push', view: { kind: 'logs', cluster: name, job } });
      }),
    },
    {
      command: 'cluster.shell',
      run: needCluster((name, cluster) => {
        if (cluster.status !== 'UP') return ui.flash(`${name} is ${cluster.status}; a shell needs it UP`, 'warn');
        if (!deps.shell) return ui.flash('shell is not available here', 'warn');
        deps.shell(name);
      }),
    },
    {
      command: 'cluster.stop',
      run: needCluster((name, cluster) => {
        if (cluster.status === 'STOPPED') return ui.flash(`${name} is already STOPPED`, 'warn');
        const managedId = managedJobOn(data, name);
        const running = jobsOfCluster(data, name).filter((j) => ACTIVE_JOB_STATUSES.has(j.status));
        const message =
          managedId !== undefined
            ? `${name} runs managed job ${managedId}: stopping it would cancel that job for good, so the daemon refuses it. Use ^K on managed job ${managedId} (M) instead.`
            : running.length
              ? `${running.length} running job${running.length > 1 ? 's' : ''} (${running.map((j) => j.id).join(', ')}) will be killed. The disk is kept; u starts ${name} again.`
              : `${name} is stopped (no jobs running); the disk is kept and u starts it again.`;
        ui.confirm({
          title: `Stop ${name}?`,
          message,
          confirmLabel: 'Stop',
          onConfirm: () =>
            ui.track(`stop ${name}`, async () => {
              const r = await client.call('stop', { clusters: [name] });
              return { requestIds: r.requestIds, text: `stopping ${name}…` };
            }),
        });
      }),
    },
    {
      command: 'cluster.start',
      run: needCluster((name, cluster) => {
        if (cluster.status === 'UP') return ui.flash(`${name} is already UP`, 'warn');
        ui.track(`start ${name}`, async () => {
          const r = await client.call('start', { clusters: [name] });
          return { requestIds: r.requestIds, text: `starting ${name}…` };
        });
      }),
    },
    {
      command: 'cluster.down',
      run: needCluster((name) =>
        ui.confirm({
          title: `Tear down ${name}?`,
          message: `This terminates ${name} and everything on it (jobs' logs stay archived).`,
          confirmLabel: 'Down',
          onConfirm: () =>
            ui.track(`down ${name}`, async () => {
              const r = await client.call('down', { clusters: [name] });
              return { requestIds: r.requestIds, text: `tearing down ${name}…` };
            }),
        }),
      ),
    },
    {
      command: 'cluster.autostop',
      run: needCluster((name, cluster) =>
        ui.prompt({
          title: `Autostop ${name} after N idle minutes ("30", "30 down" to tear down, "off" to cancel)`,
          initial: cluster.autostop ? `${cluster.autostop.idleMinutes}${cluster.autostop.down ? ' down' : ''}` : '',
          onSubmit(v) {
            const p = parseAutostop(v);
            if ('error' in p) return ui.flash(p.error, 'error');
            ui.act(`autostop ${name}`, async () => {
              await client.call('autostop', { clusters: [name], ...p });
              return p.cancel ? `autostop cancelled on ${name}` : `autostop ${name} after ${p.idleMinutes}m idle${p.down ? ' (down)' : ''}`;
            });
          },
        }),
      ),
    },
    { command: 'cluster.launch', run: () => ui.openOverlay({ type: 'launch' }) },
    { command: 'view.managed', run: () => nav({ type: 'push', view: { kind: 'managed' } }) },
    ...describeActions(nav, onCluster, (c) => ({ kind: 'cluster', cluster: c.name })),
  ];
  useKeyLayer({ priority: PRIORITY.view, actions, title: 'clusters' });
  return <ListTable list={list} columns={columns} loaded={data.loaded} empty="no clusters; press n to launch a task" height={height} width={width} />;
}

/** The active managed job whose cluster this is, if any (its live attempt runs there). */
export function managedJobOn(data: TuiData, name: string): number | undefined {
  for (const m of data.managed.values()) {
    if (TERMINAL_MANAGED_STATUSES.has(m.status)) continue;
    if (m.cluster === name || m.attempts.some((a) => a.cluster === name && a.endedAt === undefined)) return m.id;
  }
  return undefined;
}
