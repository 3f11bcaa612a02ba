// List behaviour shared by the table views: filter, selection by key, paging and sort keys,
// all kept in the navigation entry so esc returns to the same place.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
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
  // The selection is a key: it stays on its row when rows move, a filter is cleared, the list is
  // re-sorted. When that row is gone, the next one (as the list stood before) takes its place.
  const prev = useRef<{ rows: readonly Row[]; index: number }>({ rows: [], index: 0 });
  let selected = top.selected === undefined ? 0 : rows.findIndex((r) => r.key === top.selected);
  if (selected < 0) selected = successor(prev.current, top.selected, rows);
  if (selected >= rows.length) selected = Math.max(0, rows.length - 1);
  const selectedKey = rows[selected]?.key;
  prev.current = { rows, index: selected };
  // Hold on to the row shown as selected (a fallback, or row 0 while a filter is typed), so
  // clearing the filter or the row going away later starts from it. A layout effect: it lands
  // before the next key is handled, so an esc right after ⏎ cannot clear the filter while the
  // state still says "no selection" (which would fall back to row 0).
  useLayoutEffect(() => {
    if (selectedKey !== undefined && selectedKey !== top.selected) dispatch({ type: 'patch', patch: { selected: selectedKey } });
  }, [selectedKey, top.selected, dispatch]);

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

/** Where the selection goes when its row `key` is gone: the first later row of the previous list
 *  that is still there, else the nearest earlier one, else the same position. */
function successor(prev: { rows: readonly Row[]; index: number }, key: string | undefined, rows: readonly Row[]): number {
  const at = prev.rows.findIndex((r) => r.key === key);
  if (at < 0) return Math.min(prev.index, Math.max(0, rows.length - 1));
  const index = new Map(rows.map((r, i) => [r.key, i]));
  for (let i = at + 1; i < prev.rows.length; i++) {
    const j = index.get(prev.rows[i]!.key);
    if (j !== undefined) return j;
  }
  for (let i = at - 1; i >= 0; i--) {
    const j = index.get(prev.rows[i]!.key);
    if (j !== undefined) return j;
  }
  return 0;
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
