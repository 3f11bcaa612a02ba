// One cluster's jobs (`J`, enter on a cluster), or every cluster's (`:jobs` with no cluster, like
// k9s's all namespaces and `sky queue` with no argument): same keys, a CLUSTER column added.
import { useMemo, useRef } from 'react';
import { Box, Text } from 'ink';
import { ACTIVE_JOB_STATUSES, TERMINAL_JOB_STATUSES, type JobRecord } from '../../protocol/model.js';
import { useData, useDeps, useNavDispatch, useUi } from '../context.js';
import { PRIORITY, useKeyLayer, type KeyAction } from '../keys/dispatcher.js';
import { ALL_JOB_COLUMNS, JOB_COLUMNS, jobRow } from '../render/rows.js';
import { directed, jobComparator } from '../render/sort.js';
import { RowCache, sortReusing } from '../render/derive.js';
import { jobKey, jobsOfCluster, type TuiData } from '../state/reducer.js';
import { Table } from '../components/Table.js';
import { useList, useNow, useSortedColumns, useSortKey } from './useList.js';
import { describeActions } from './describe-keys.js';

const SORT_COLUMNS = { name: 'NAME', age: 'SUBMITTED', status: 'STATUS' } as const;

/** Jobs of clusters that exist now, keyed like the store (a torn-down cluster's jobs are gone). */
function currentJobs(data: TuiData): ReadonlyMap<string, JobRecord> {
  for (const j of data.jobs.values()) {
    if (data.clusters.get(j.cluster)?.uid !== j.clusterUid) {
      return new Map([...data.jobs].filter(([, x]) => data.clusters.get(x.cluster)?.uid === x.clusterUid));
    }
  }
  return data.jobs;
}

export function JobsView({ cluster, height, width }: { cluster?: string; height: number; width: number }) {
  const data = useData();
  const deps = useDeps();
  const ui = useUi();
  const nav = useNavDispatch();
  const now = useNow(1000);
  const sort = useSortKey();
  const all = cluster === undefined;
  const columns = useSortedColumns(all ? ALL_JOB_COLUMNS : JOB_COLUMNS, SORT_COLUMNS);
  // Thousands of jobs across clusters: re-sort and re-format only what changed (derive.ts).
  const derived = useRef<{ sorted?: JobRecord[]; rows: RowCache<JobRecord, boolean> }>(undefined);
  derived.current ??= { rows: new RowCache<JobRecord, boolean>(jobRow) };
  const jobs = useMemo(() => {
    const cmp = directed(jobComparator(sort.key), sort.reverse);
    if (!all) return jobsOfCluster(data, cluster).sort(cmp);
    const d = derived.current!;
    d.sorted = sortReusing(currentJobs(data), d.sorted, jobKey, cmp);
    return d.sorted;
  }, [data, cluster, all, sort.key, sort.reverse]);
  const rows = useMemo(() => derived.current!.rows.rowsOf(jobs, now, () => all), [jobs, now, all]);
  const list = useList(rows, height - 2);
  /** the job selected when the key runs */
  const selected = () => {
    const k = list.current();
    return k === undefined ? undefined : jobs.find((j) => (all ? `${j.cluster}/${j.id}` : String(j.id)) === k);
  };

  const openLogs = () => {
    const job = selected();
    if (!job) return ui.flash('no job selected', 'warn');
    nav({ type: 'push', view: { kind: 'logs', cluster: job.cluster, job: job.id } });
  };
  const actions: KeyAction[] = [
    ...list.actions,
    { command: 'nav.enter', label: 'Logs', run: openLogs, hideHint: true },
    { command: 'view.logs', run: openLogs },
    {
      command: 'job.cancel',
      run: () => {
        const job = selected();
        if (!job) return ui.flash('no job selected', 'warn');
        if (TERMINAL_JOB_STATUSES.has(job.status)) return ui.flash(`job ${job.id} already ${job.status}`, 'warn');
        const on = job.cluster;
        ui.confirm({
          title: `Cancel job ${job.id} on ${on}?`,
          message: `Job ${job.id}${job.name ? ` (${job.name})` : ''} is ${job.status}; cancelling kills its processes on every node.`,
          confirmLabel: 'Cancel job',
          onConfirm: () =>
            ui.act(`cancel job ${job.id}`, async () => {
              const r = await deps.client.call('cancel', { cluster: on, jobIds: [job.id] });
              return r.cancelled.length ? `cancelled job ${r.cancelled.join(', ')} on ${on}` : `job ${job.id} was not running`;
            }),
        });
      },
    },
    ...(all ? [] : [{ command: 'jobs.all' as const, label: 'All clusters', run: () => nav({ type: 'push', view: { kind: 'jobs' } }) }]),
    ...describeActions(nav, ui, () => {
      const job = selected();
      return job ? { kind: 'job', cluster: job.cluster, job: job.id } : undefined;
    }, 'no job selected'),
  ];
  useKeyLayer({ priority: PRIORITY.view, actions, title: all ? 'jobs(all)' : `jobs(${cluster})` });
  const c = cluster === undefined ? undefined : data.clusters.get(cluster);
  let head = ' ';
  if (all) {
    const active = jobs.reduce((n, j) => n + (ACTIVE_JOB_STATUSES.has(j.status) ? 1 : 0), 0);
    head = `all clusters · ${jobs.length} job${jobs.length === 1 ? '' : 's'}${active ? ` (${active} active)` : ''}`;
  } else if (c) head = `${c.name} · ${c.status} · ${c.infra} · ${c.resources}`;
  else if (data.loaded) head = `${cluster}: no such cluster (it may have been torn down)`;
  return (
    <Box flexDirection="column" height={height}>
      <Text wrap="truncate" dimColor>
        {head}
      </Text>
      <Table columns={columns} rows={list.rows} selected={list.selected} height={height - 1} width={width} empty={all ? 'no jobs on any cluster' : 'no jobs'} />
    </Box>
  );
}
