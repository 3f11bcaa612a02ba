import { useMemo } from 'react';
import { Box, Text } from 'ink';
import { TERMINAL_JOB_STATUSES } from '../../protocol/model.js';
import { useData, useDeps, useNavDispatch, useUi } from '../context.js';
import { PRIORITY, useKeyLayer, type KeyAction } from '../keys/dispatcher.js';
import { JOB_COLUMNS, jobRow } from '../render/rows.js';
import { jobComparator } from '../render/sort.js';
import { jobsOfCluster } from '../state/reducer.js';
import { Table } from '../components/Table.js';
import { useList, useNow, useSortKey } from './useList.js';

export function JobsView({ cluster, height, width }: { cluster: string; height: number; width: number }) {
  const data = useData();
  const deps = useDeps();
  const ui = useUi();
  const nav = useNavDispatch();
  const now = useNow(1000);
  const sortKey = useSortKey();
  const jobs = useMemo(() => jobsOfCluster(data, cluster).sort(jobComparator(sortKey)), [data, cluster, sortKey]);
  const all = useMemo(() => jobs.map((j) => jobRow(j, now)), [jobs, now]);
  const list = useList(all, height - 2);
  const job = jobs.find((j) => String(j.id) === list.selectedKey);
  const exists = data.clusters.has(cluster);

  const openLogs = () => {
    if (!job) return ui.flash('no job selected', 'warn');
    nav({ type: 'push', view: { kind: 'logs', cluster, job: job.id } });
  };
  const actions: KeyAction[] = [
    ...list.actions,
    { command: 'nav.enter', label: 'Logs', run: openLogs, hideHint: true },
    { command: 'view.logs', run: openLogs },
    {
      command: 'job.cancel',
      run: () => {
        if (!job) return ui.flash('no job selected', 'warn');
        if (TERMINAL_JOB_STATUSES.has(job.status)) return ui.flash(`job ${job.id} already ${job.status}`, 'warn');
        ui.confirm({
          title: `Cancel job ${job.id} on ${cluster}?`,
          message: `Job ${job.id}${job.name ? ` (${job.name})` : ''} is ${job.status}; cancelling kills its processes on every node.`,
          confirmLabel: 'Cancel job',
          onConfirm: () =>
            ui.act(`cancel job ${job.id}`, async () => {
              const r = await deps.client.call('cancel', { cluster, jobIds: [job.id] });
              return r.cancelled.length ? `cancelled job ${r.cancelled.join(', ')} on ${cluster}` : `job ${job.id} was not running`;
            }),
        });
      },
    },
  ];
  useKeyLayer({ priority: PRIORITY.view, actions, title: `jobs(${cluster})` });
  const c = data.clusters.get(cluster);
  return (
    <Box flexDirection="column" height={height}>
      <Text wrap="truncate" dimColor>
        {c ? `${c.name} · ${c.status} · ${c.infra} · ${c.resources}` : data.loaded && !exists ? `${cluster}: no such cluster (it may have been torn down)` : ' '}
      </Text>
      <Table columns={JOB_COLUMNS} rows={list.rows} selected={list.selected} height={height - 1} width={width} empty="no jobs" />
    </Box>
  );
}
