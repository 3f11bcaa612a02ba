import { useMemo } from 'react';
import { useData, useNavDispatch, useUi } from '../context.js';
import { PRIORITY, useKeyLayer, type KeyAction } from '../keys/dispatcher.js';
import { REQUEST_COLUMNS, requestRow } from '../render/rows.js';
import { requestComparator } from '../render/sort.js';
import { Table } from '../components/Table.js';
import { useList, useNow, useSortKey } from './useList.js';

export function RequestsView({ height, width }: { height: number; width: number }) {
  const data = useData();
  const ui = useUi();
  const nav = useNavDispatch();
  const sortKey = useSortKey();
  const requests = useMemo(() => [...data.requests.values()].sort(requestComparator(sortKey)), [data, sortKey]);
  const running = requests.some((r) => r.status === 'RUNNING');
  // The spinner and elapsed time only tick while something is in flight.
  const now = useNow(running ? 100 : 1000);
  const all = useMemo(() => requests.map((r) => requestRow(r, now)), [requests, now]);
  const list = useList(all, height - 1);
  const req = requests.find((r) => r.id === list.selectedKey);
  const openLogs = () => {
    if (!req) return ui.flash('no request selected', 'warn');
    if (req.jobId === undefined) return ui.flash(req.error ? req.error.split('\n')[0]! : `request ${req.id} has no job`, req.error ? 'error' : 'warn');
    nav({ type: 'push', view: { kind: 'logs', cluster: req.cluster, job: req.jobId } });
  };
  const actions: KeyAction[] = [
    ...list.actions,
    { command: 'nav.enter', label: 'Logs', run: openLogs, hideHint: true },
    { command: 'view.logs', run: openLogs },
    {
      command: 'view.jobs',
      run: () => (req ? nav({ type: 'push', view: { kind: 'jobs', cluster: req.cluster } }) : ui.flash('no request selected', 'warn')),
    },
  ];
  useKeyLayer({ priority: PRIORITY.view, actions, title: 'requests' });
  return <Table columns={REQUEST_COLUMNS} rows={list.rows} selected={list.selected} height={height} width={width} empty="no requests yet" />;
}
