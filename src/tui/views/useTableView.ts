// What every table view starts from: the data, the daemon, the UI's actions, navigation, a clock
// for ages and the sort the navigation entry holds (with its arrow on the view's own columns).
import { useData, useDeps, useNavDispatch, useUi } from '../context.js';
import type { Column } from '../render/table.js';
import type { SortKey } from '../render/sort.js';
import { useNow, useSortedColumns, useSortKey } from './useList.js';

export function useTableView(columns: Column[], sortTitles: Record<SortKey, string>) {
  const data = useData();
  const deps = useDeps();
  const ui = useUi();
  const nav = useNavDispatch();
  const now = useNow(1000);
  const sort = useSortKey();
  return { data, deps, ui, nav, now, sort, columns: useSortedColumns(columns, sortTitles) };
}
