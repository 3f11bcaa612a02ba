// A list view's table: the rows its list shows with the selection it holds, under one dim line
// about the selected row (or the whole list) where the view has more to say than its columns.
import { Box, Text } from 'ink';
import type { ListState } from '../views/useList.js';
import { Table, type TableProps } from './Table.js';

type ListTableProps = Omit<TableProps, 'rows' | 'selected'> & {
  list: Pick<ListState, 'rows' | 'selected'>;
  detail?: string;
  /** false until the first snapshot: an empty list then says it is waiting, not that there is nothing */
  loaded?: boolean;
};

export function ListTable({ list, detail, loaded, height, ...props }: ListTableProps) {
  const table = loaded === false ? { ...props, empty: 'waiting for the daemon…' } : props;
  if (detail === undefined) return <Table {...table} rows={list.rows} selected={list.selected} height={height} />;
  return (
    <Box flexDirection="column" height={height}>
      <Text wrap="truncate" dimColor>
        {detail}
      </Text>
      <Table {...table} rows={list.rows} selected={list.selected} height={height - 1} />
    </Box>
  );
}
