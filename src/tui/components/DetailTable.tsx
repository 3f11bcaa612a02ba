// A table under one dim line about the selected row (or the whole list): the layout of the views
// whose rows need more than their columns say.
import { Box, Text } from 'ink';
import { Table, type TableProps } from './Table.js';

export function DetailTable({ detail, height, ...table }: TableProps & { detail: string }) {
  return (
    <Box flexDirection="column" height={height}>
      <Text wrap="truncate" dimColor>
        {detail}
      </Text>
      <Table {...table} height={height - 1} />
    </Box>
  );
}
