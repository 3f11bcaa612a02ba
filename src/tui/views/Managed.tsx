// `:managed`: managed jobs (they move between clusters across recoveries); enter/l follows one
// job's output over all its attempts, ctrl-k cancels it after confirmation.
import { useMemo } from 'react';
import { Box, Text } from 'ink';
import { TERMINAL_MANAGED_STATUSES } from '../../protocol/model.js';
import { useData, useDeps, useNavDispatch, useUi } from '../context.js';
import { PRIORITY, useKeyLayer, type KeyAction } from '../keys/dispatcher.js';
import { MANAGED_COLUMNS, managedDetail, managedRow } from '../render/rows.js';
import { managedComparator } from '../render/sort.js';
import { Table } from '../components/Table.js';
import { useList, useNow, useSortKey } from './useList.js';

export function ManagedView({ height, width }: { height: number; width: number }) {
  const data = useData();
  const deps = useDeps();
  const ui = useUi();
  const nav = useNavDispatch();
  const now = useNow(1000);
  const sortKey = useSortKey();
  const jobs = useMemo(() => [...data.managed.values()].sort(managedComparator(sortKey)), [data.managed, sortKey]);
  const all = useMemo(() => jobs.map((m) => managedRow(m, now)), [jobs, now]);
  const list = useList(all, height - 2);
  const sel = list.selectedKey !== undefined ? data.managed.get(Number(list.selectedKey)) : undefined;

  const openLogs = () => {
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
  ];
  useKeyLayer({ priority: PRIORITY.view, actions, title: 'managed jobs' });
  return (
    <Box flexDirection="column" height={height}>
      <Text wrap="truncate" dimColor>
        {sel ? managedDetail(sel) : ' '}
      </Text>
      <Table
        columns={MANAGED_COLUMNS}
        rows={list.rows}
        selected={list.selected}
        height={height - 1}
        width={width}
        empty={data.loaded ? 'no managed jobs; `aloft jobs launch` starts one' : 'waiting for the daemon…'}
      />
    </Box>
  );
}
