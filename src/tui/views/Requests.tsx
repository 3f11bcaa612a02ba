import { useMemo } from 'react';
import { useData, useNavDispatch, useUi } from '../context.js';
import { PRIORITY, useKeyLayer, type KeyAction } from '../keys/dispatcher.js';
import { REQUEST_COLUMNS, requestRow } from '../render/rows.js';
import { directed, requestComparator } from '../render/sort.js';
import { ListTable } from '../components/ListTable.js';
import { useList, useNow, useSortedColumns, useSortKey } from './useList.js';
import { logsActions, onSelected } from './row-actions.js';
import { describeActions } from './describe-keys.js';

const SORT_COLUMNS = { name: 'CLUSTER', age: 'AGE', status: 'STATUS' } as const;

export function RequestsView({ height, width }: { height: number; width: number }) {
  const data = useData();
  const ui = useUi();
  const nav = useNavDispatch();
  const sort = useSortKey();
  const columns = useSortedColumns(REQUEST_COLUMNS, SORT_COLUMNS);
  const requests = useMemo(() => [...data.requests.values()].sort(directed(requestComparator(sort.key), sort.reverse)), [data.requests, sort.key, sort.reverse]);
  const running = requests.some((r) => r.status === 'RUNNING');
  // The spinner and elapsed time only tick while something is in flight.
  const now = useNow(running ? 100 : 1000);
  const all = useMemo(() => requests.map((r) => requestRow(r, now)), [requests, now]);
  const list = useList(all, height - 1);
  /** the request selected when the key runs */
  const selected = () => requests.find((r) => r.id === list.current());
  const onRequest = onSelected(selected, ui, 'no request selected');
  const actions: KeyAction[] = [
    ...list.actions,
    ...logsActions(
      onRequest((req) => {
        if (req.jobId === undefined) return ui.flash(req.error ? req.error.split('\n')[0]! : `request ${req.id} has no job`, req.error ? 'error' : 'warn');
        nav({ type: 'push', view: { kind: 'logs', cluster: req.cluster, job: req.jobId } });
      }),
    ),
    { command: 'view.jobs', run: onRequest((req) => nav({ type: 'push', view: { kind: 'jobs', cluster: req.cluster } })) },
    ...describeActions(nav, onRequest, (req) => ({ kind: 'request', id: req.id })),
  ];
  useKeyLayer({ priority: PRIORITY.view, actions, title: 'requests' });
  return <ListTable list={list} columns={columns} empty="no requests yet" height={height} width={width} />;
}
