// List behaviour shared by the table views: filter, selection by key, paging and sort keys,
// all kept in the navigation entry so esc returns to the same place.
import { useEffect, useMemo, useState } from 'react';
import { useNav, useNavDispatch, useUi } from '../context.js';
import type { KeyAction } from '../keys/dispatcher.js';
import { matchesFilter, type Row } from '../render/table.js';
import type { SortKey } from '../render/sort.js';

export interface ListState {
  rows: Row[];
  selected: number;
  selectedKey: string | undefined;
  sort: SortKey;
  actions: KeyAction[];
}

export function useList(all: readonly Row[], pageSize: number, opts: { sortable?: boolean; filterable?: boolean } = {}): ListState {
  const nav = useNav();
  const dispatch = useNavDispatch();
  const ui = useUi();
  const top = nav[nav.length - 1]!;
  const filter = top.filter;
  const rows = useMemo(() => (filter ? all.filter((r) => matchesFilter(r, filter)) : (all as Row[])), [all, filter]);
  let selected = top.selected === undefined ? 0 : rows.findIndex((r) => r.key === top.selected);
  if (selected < 0) selected = 0;
  if (selected >= rows.length) selected = Math.max(0, rows.length - 1);
  const selectedKey = rows[selected]?.key;

  const go = (i: number) => {
    const j = Math.max(0, Math.min(rows.length - 1, i));
    const key = rows[j]?.key;
    if (key !== undefined && key !== top.selected) dispatch({ type: 'patch', patch: { selected: key } });
  };
  const page = Math.max(1, pageSize - 1);
  const actions: KeyAction[] = [
    { command: 'nav.up', run: () => go(selected - 1), hideHint: true },
    { command: 'nav.down', run: () => go(selected + 1), hideHint: true },
    { command: 'nav.pageUp', run: () => go(selected - page), hideHint: true },
    { command: 'nav.pageDown', run: () => go(selected + page), hideHint: true },
    { command: 'nav.top', run: () => go(0), hideHint: true },
    { command: 'nav.bottom', run: () => go(rows.length - 1), hideHint: true },
  ];
  if (opts.filterable !== false) actions.push({ command: 'filter.open', run: () => ui.openInput('filter'), hideHint: true });
  if (opts.sortable !== false) {
    for (const key of ['name', 'age', 'status'] as const) {
      actions.push({ command: `sort.${key}`, run: () => dispatch({ type: 'patch', patch: { sort: key } }), hideHint: true });
    }
  }
  return { rows, selected, selectedKey, sort: top.sort, actions };
}

/** Re-renders every `ms` (ages, elapsed times, spinners); paused when `active` is false. */
export function useNow(ms: number, active = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms, active]);
  return active ? now : Date.now();
}

export function useSortKey(): SortKey {
  const nav = useNav();
  return nav[nav.length - 1]!.sort;
}
