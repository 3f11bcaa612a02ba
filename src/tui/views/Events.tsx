import { useMemo } from 'react';
import { useData, useNavDispatch, useUi } from '../context.js';
import { PRIORITY, useKeyLayer, type KeyAction } from '../keys/dispatcher.js';
import { EVENT_COLUMNS, eventRow } from '../render/rows.js';
import { Table } from '../components/Table.js';
import { useList } from './useList.js';

/** Timeline of state changes, newest first; notices (preemptions, recoveries) in their level's colour. */
export function EventsView({ height, width }: { height: number; width: number }) {
  const data = useData();
  const ui = useUi();
  const nav = useNavDispatch();
  const all = useMemo(() => data.timeline.map(eventRow).reverse(), [data.timeline]);
  const list = useList(all, height - 1, { sortable: false });
  const actions: KeyAction[] = [
    ...list.actions,
    {
      command: 'nav.enter',
      label: 'Open',
      run: () => {
        // the event selected when the key runs
        const ev = data.timeline.find((e) => String(e.seq) === list.current());
        const cluster = ev?.cluster?.name ?? ev?.job?.cluster ?? ev?.request?.cluster ?? ev?.name;
        if (ev?.managed) {
          nav({ type: 'push', view: { kind: 'managed' } });
          return nav({ type: 'patch', patch: { selected: String(ev.managed.id) } });
        }
        if (!cluster || !data.clusters.has(cluster)) return ui.flash('that cluster no longer exists', 'warn');
        nav({ type: 'push', view: { kind: 'jobs', cluster } });
      },
    },
  ];
  useKeyLayer({ priority: PRIORITY.view, actions, title: 'events' });
  return <Table columns={EVENT_COLUMNS} rows={list.rows} selected={list.selected} height={height} width={width} empty="no events yet" />;
}
