// List behaviour shared by the table views: filter, selection by key, paging and sort keys,
// all kept in the navigation entry so esc returns to the same place.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { useNav, useNavDispatch, useUi } from '../context.js';
import type { KeyAction } from '../keys/dispatcher.js';
import { matchesFilter, withSortArrow, type Column, type Row } from '../render/table.js';
import type { SortKey } from '../render/sort.js';

export interface ListState {
  rows: Row[];
  selected: number;
  selectedKey: string | undefined;
  /**
   * The selected key now: moves made by keys that arrived before React rendered them included.
   * Actions read this when they run, so `j` then `p` typed fast stops the row `j` went to.
   */
  current(): string | undefined;
  sort: SortKey;
  reverse: boolean;
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
  // A wanted row (a request just created) takes the selection as soon as it is listed.
  const prev = useRef<{ rows: readonly Row[]; index: number }>({ rows: [], index: 0 });
  const wanted = top.want !== undefined ? rows.findIndex((r) => r.key === top.want) : -1;
  let selected = wanted >= 0 ? wanted : top.selected === undefined ? 0 : rows.findIndex((r) => r.key === top.selected);
  if (selected < 0) selected = successor(prev.current, top.selected, rows);
  if (selected >= rows.length) selected = Math.max(0, rows.length - 1);
  const selectedKey = rows[selected]?.key;
  prev.current = { rows, index: selected };
  // Hold on to the row shown as selected (a fallback, or row 0 while a filter is typed), so
  // clearing the filter or the row going away later starts from it. A layout effect: it lands
  // before the next key is handled, so an esc right after ⏎ cannot clear the filter while the
  // state still says "no selection" (which would fall back to row 0).
  useLayoutEffect(() => {
    if (wanted >= 0) dispatch({ type: 'patch', patch: { selected: top.want, want: undefined } });
    else if (selectedKey !== undefined && selectedKey !== top.selected) dispatch({ type: 'patch', patch: { selected: selectedKey } });
  }, [selectedKey, top.selected, top.want, wanted, dispatch]);

  // Where the selection is now, ahead of React: keys can arrive faster than renders.
  const latest = useRef({ rows, key: selectedKey });
  latest.current = { rows, key: selectedKey };
  const go = (to: (index: number, count: number) => number) => {
    const { rows: rs, key: at } = latest.current;
    const from = Math.max(0, rs.findIndex((r) => r.key === at));
    const key = rs[Math.max(0, Math.min(rs.length - 1, to(from, rs.length)))]?.key;
    if (key === undefined) return;
    latest.current = { rows: rs, key };
    // moving by hand gives up on a row still awaited
    if (key !== top.selected || top.want !== undefined) dispatch({ type: 'patch', patch: { selected: key, want: undefined } });
  };
  const page = Math.max(1, pageSize - 1);
  const actions: KeyAction[] = [
    { command: 'nav.up', run: () => go((i) => i - 1), hideHint: true },
    { command: 'nav.down', run: () => go((i) => i + 1), hideHint: true },
    { command: 'nav.pageUp', run: () => go((i) => i - page), hideHint: true },
    { command: 'nav.pageDown', run: () => go((i) => i + page), hideHint: true },
    { command: 'nav.top', run: () => go(() => 0), hideHint: true },
    { command: 'nav.bottom', run: () => go((_, n) => n - 1), hideHint: true },
  ];
  if (opts.filterable !== false) actions.push({ command: 'filter.open', run: () => ui.openInput('filter'), hideHint: true });
  if (opts.sortable !== false) {
    for (const key of ['name', 'age', 'status'] as const) {
      // k9s: the same sort key again flips the direction
      const run = () => dispatch({ type: 'patch', patch: key === top.sort ? { reverse: !top.reverse } : { sort: key, reverse: false } });
      actions.push({ command: `sort.${key}`, run, hideHint: true });
    }
  }
  return { rows, selected, selectedKey, current: () => latest.current.key, sort: top.sort, reverse: top.reverse, actions };
}

/** The view's columns with the sort arrow on the column its sort key orders by. */
export function useSortedColumns(columns: Column[], titles: Record<SortKey, string>): Column[] {
  const nav = useNav();
  const top = nav[nav.length - 1]!;
  const title = titles[top.sort];
  return useMemo(() => withSortArrow(columns, title, top.reverse), [columns, title, top.reverse]);
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

export function useSortKey(): { key: SortKey; reverse: boolean } {
  const nav = useNav();
  const top = nav[nav.length - 1]!;
  return { key: top.sort, reverse: top.reverse };
}
