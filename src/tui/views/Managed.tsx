// `:managed`: managed jobs (they move between clusters across recoveries); enter/l follows one
// job's output over all its attempts, ctrl-k cancels it after confirmation.
import { useMemo } from 'react';
import { TERMINAL_MANAGED_STATUSES, type ManagedJobRecord } from '../../protocol/model.js';
import { PRIORITY, useKeyLayer, type KeyAction } from '../keys/dispatcher.js';
import { MANAGED_COLUMNS, managedDetail, managedRow } from '../render/rows.js';
import { directed, managedComparator } from '../render/sort.js';
import { ListTable } from '../components/ListTable.js';
import { useList } from './useList.js';
import { useTableView } from './useTableView.js';
import { confirmThenAct, logsActions, onSelected } from './row-actions.js';
import { describeActions } from './describe-keys.js';

const SORT_COLUMNS = { name: 'NAME', age: 'SUBMITTED', status: 'STATUS' } as const;

export function ManagedView({ height, width }: { height: number; width: number }) {
  const { data, deps, ui, nav, now, sort, columns } = useTableView(MANAGED_COLUMNS, SORT_COLUMNS);
  const jobs = useMemo(() => [...data.managed.values()].sort(directed(managedComparator(sort.key), sort.reverse)), [data.managed, sort.key, sort.reverse]);
  const all = useMemo(() => jobs.map((m) => managedRow(m, now)), [jobs, now]);
  const list = useList(all, height - 2);
  const sel = list.selectedKey !== undefined ? data.managed.get(Number(list.selectedKey)) : undefined;
  /** the managed job selected when the key runs */
  const selected = () => {
    const k = list.current();
    return k === undefined ? undefined : data.managed.get(Number(k));
  };
  const onJob = onSelected<ManagedJobRecord>(selected, ui, 'no managed job selected');

  const actions: KeyAction[] = [
    ...list.actions,
    ...logsActions(onJob((m) => nav({ type: 'push', view: { kind: 'managed-logs', id: m.id } }))),
    {
      command: 'job.cancel',
      run: onJob(({ id, name, status, cluster }) => {
        if (TERMINAL_MANAGED_STATUSES.has(status) || status === 'CANCELLING') {
          return ui.flash(`managed job ${id} already ${status}`, 'warn');
        }
        confirmThenAct(ui, {
          title: `Cancel managed job ${id}${name ? ` (${name})` : ''}?`,
          message: `It is ${status}${cluster ? ` on ${cluster}` : ''}; cancelling stops it for good (no recovery) and tears its cluster down.`,
          confirmLabel: 'Cancel job',
          what: `cancel managed job ${id}`,
          call: async () => {
            const r = await deps.client.call('jobsCancel', { ids: [id] });
            return r.cancelled.length ? `cancelling managed job ${r.cancelled.join(', ')}` : `managed job ${id} was not active`;
          },
        });
      }),
    },
    ...describeActions(nav, onJob, (m) => ({ kind: 'managed', id: m.id })),
  ];
  useKeyLayer({ priority: PRIORITY.view, actions, title: 'managed jobs' });
  return (
    <ListTable
      list={list}
      columns={columns}
      detail={sel ? managedDetail(sel) : ' '}
      loaded={data.loaded}
      empty="no managed jobs; `aloft jobs launch` starts one"
      height={height}
      width={width}
    />
  );
}
