// `:managed`: managed jobs (they move between clusters across recoveries); enter/l follows one
// job's output over all its attempts, ctrl-k cancels it after confirmation.
import { useMemo } from 'react';
import { Box, Text } from 'ink';
import { TERMINAL_MANAGED_STATUSES } from '../../protocol/model.js';
import { useData, useDeps, useNavDispatch, useUi } from '../context.js';
import { PRIORITY, useKeyLayer, type KeyAction } from '../keys/dispatcher.js';
import { MANAGED_COLUMNS, managedDetail, managedRow } from '../render/rows.js';
import { directed, managedComparator } from '../render/sort.js';
import { Table } from '../components/Table.js';
import { useList, useNow, useSortedColumns, useSortKey } from './useList.js';
import { describeActions } from './describe-keys.js';

const SORT_COLUMNS = { name: 'NAME', age: 'SUBMITTED', status: 'STATUS' } as const;

export function ManagedView({ height, width }: { height: number; width: number }) {
  const data = useData();
  const deps = useDeps();
  const ui = useUi();
  const nav = useNavDispatch();
  const now = useNow(1000);
  const sort = useSortKey();
  const columns = useSortedColumns(MANAGED_COLUMNS, SORT_COLUMNS);
  const jobs = useMemo(() => [...data.managed.values()].sort(directed(managedComparator(sort.key), sort.reverse)), [data.managed, sort.key, sort.reverse]);
  const all = useMemo(() => jobs.map((m) => managedRow(m, now)), [jobs, now]);
  const list = useList(all, height - 2);
  const sel = list.selectedKey !== undefined ? data.managed.get(Number(list.selectedKey)) : undefined;
  /** the managed job selected when the key runs */
  const selected = () => {
    const k = list.current();
    return k === undefined ? undefined : data.managed.get(Number(k));
  };

  const openLogs = () => {
    const sel = selected();
    if (!sel) return ui.flash('no managed job selected', 'warn');
    nav({ type: 'push', view: { kind: 'managed-logs', id: sel.id } });
  };
  const actions: KeyAction[] = [
    ...list.actions,
    { command: 'nav.enter', label: 'Logs', run: openLogs, hideHint: true },
    { command: 'view.logs', run: openLogs },
    {
      command: 'job.cancel',
      run: () => {
        const sel = selected();
        if (!sel) return ui.flash('no managed job selected', 'warn');
        if (TERMINAL_MANAGED_STATUSES.has(sel.status) || sel.status === 'CANCELLING') {
          return ui.flash(`managed job ${sel.id} already ${sel.status}`, 'warn');
        }
        const { id, name, status, cluster } = sel;
        ui.confirm({
          title: `Cancel managed job ${id}${name ? ` (${name})` : ''}?`,
          message: `It is ${status}${cluster ? ` on ${cluster}` : ''}; cancelling stops it for good (no recovery) and tears its cluster down.`,
          confirmLabel: 'Cancel job',
          onConfirm: () =>
            ui.act(`cancel managed job ${id}`, async () => {
              const r = await deps.client.call('jobsCancel', { ids: [id] });
              return r.cancelled.length ? `cancelling managed job ${r.cancelled.join(', ')}` : `managed job ${id} was not active`;
            }),
        });
      },
    },
    ...describeActions(nav, ui, () => {
      const m = selected();
      return m ? { kind: 'managed', id: m.id } : undefined;
    }, 'no managed job selected'),
  ];
  useKeyLayer({ priority: PRIORITY.view, actions, title: 'managed jobs' });
  return (
    <Box flexDirection="column" height={height}>
      <Text wrap="truncate" dimColor>
        {sel ? managedDetail(sel) : ' '}
      </Text>
      <Table
        columns={columns}
        rows={list.rows}
        selected={list.selected}
        height={height - 1}
        width={width}
        empty={data.loaded ? 'no managed jobs; `aloft jobs launch` starts one' : 'waiting for the daemon…'}
      />
    </Box>
  );
}
