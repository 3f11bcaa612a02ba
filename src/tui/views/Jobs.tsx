// One cluster's jobs (`J`, enter on a cluster), or every cluster's (`:jobs` with no cluster, like
// k9s's all namespaces and `sky queue` with no argument): same keys, a CLUSTER column added.
import { useMemo, useRef } from 'react';
import { ACTIVE_JOB_STATUSES, TERMINAL_JOB_STATUSES, type JobRecord } from '../../protocol/model.js';
import { PRIORITY, useKeyLayer, type KeyAction } from '../keys/dispatcher.js';
import { ALL_JOB_COLUMNS, JOB_COLUMNS, jobRow } from '../render/rows.js';
import { directed, jobComparator } from '../render/sort.js';
import { RowCache, sortReusing } from '../render/derive.js';
import { jobKey, jobsOfCluster, type TuiData } from '../state/reducer.js';
import { ListTable } from '../components/ListTable.js';
import { useList } from './useList.js';
import { useTableView } from './useTableView.js';
import { confirmThenAct, logsActions, onSelected } from './row-actions.js';
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
  const all = cluster === undefined;
  const { data, deps, ui, nav, now, sort, columns } = useTableView(all ? ALL_JOB_COLUMNS : JOB_COLUMNS, SORT_COLUMNS);
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
  const onJob = onSelected(selected, ui, 'no job selected');

  const actions: KeyAction[] = [
    ...list.actions,
    ...logsActions(onJob((job) => nav({ type: 'push', view: { kind: 'logs', cluster: job.cluster, job: job.id } }))),
    {
      command: 'job.cancel',
      run: onJob((job) => {
        if (TERMINAL_JOB_STATUSES.has(job.status)) return ui.flash(`job ${job.id} already ${job.status}`, 'warn');
        const on = job.cluster;
        confirmThenAct(ui, {
          title: `Cancel job ${job.id} on ${on}?`,
          message: `Job ${job.id}${job.name ? ` (${job.name})` : ''} is ${job.status}; cancelling kills its processes on every node.`,
          confirmLabel: 'Cancel job',
          what: `cancel job ${job.id}`,
          call: async () => {
            const r = await deps.client.call('cancel', { cluster: on, jobIds: [job.id] });
            return r.cancelled.length ? `cancelled job ${r.cancelled.join(', ')} on ${on}` : `job ${job.id} was not running`;
          },
        });
      }),
    },
    ...(all ? [] : [{ command: 'jobs.all' as const, label: 'All clusters', run: () => nav({ type: 'push', view: { kind: 'jobs' } }) }]),
    ...describeActions(nav, onJob, (job) => ({ kind: 'job', cluster: job.cluster, job: job.id })),
  ];
  useKeyLayer({ priority: PRIORITY.view, actions, title: all ? 'jobs(all)' : `jobs(${cluster})` });
  const c = cluster === undefined ? undefined : data.clusters.get(cluster);
  let head = ' ';
  if (all) {
    const active = jobs.reduce((n, j) => n + (ACTIVE_JOB_STATUSES.has(j.status) ? 1 : 0), 0);
    head = `all clusters · ${jobs.length} job${jobs.length === 1 ? '' : 's'}${active ? ` (${active} active)` : ''}`;
  } else if (c) head = `${c.name} · ${c.status} · ${c.infra} · ${c.resources}`;
  else if (data.loaded) head = `${cluster}: no such cluster (it may have been torn down)`;
  return <ListTable list={list} columns={columns} detail={head} height={height} width={width} empty={all ? 'no jobs on any cluster' : 'no jobs'} />;
}
