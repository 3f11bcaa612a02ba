import { useEffect, useMemo, useState } from 'react';
import { Box, Text } from 'ink';
import { errorMessage } from '../../util/errors.js';
import { useDeps } from '../context.js';
import { PRIORITY, useKeyLayer } from '../keys/dispatcher.js';
import { GPU_COLUMNS, GPU_NOTE, gpuRow, type GpuCatalog } from '../data/gpus.js';
import { Table } from '../components/Table.js';
import { useList } from './useList.js';

export function GpusView({ height, width }: { height: number; width: number }) {
  const deps = useDeps();
  const [cat, setCat] = useState<GpuCatalog | null>(null);
  useEffect(() => {
    let live = true;
    if (!deps.loadGpus) {
      setCat({ note: GPU_NOTE });
      return;
    }
    deps.loadGpus().then(
      (c) => live && setCat(c),
      (err: unknown) => live && setCat({ note: `GPU catalog unavailable: ${errorMessage(err)}` }),
    );
    return () => {
      live = false;
    };
  }, [deps]);
  const all = useMemo(() => (cat && 'offerings' in cat ? cat.offerings.map(gpuRow) : []), [cat]);
  const list = useList(all, height - 1, { sortable: false });
  useKeyLayer({ priority: PRIORITY.view, actions: list.actions, title: 'gpus' });
  if (!cat) return <Text dimColor>loading the catalog…</Text>;
  if ('note' in cat) {
    return (
      <Box height={height}>
        <Text dimColor>{cat.note}</Text>
      </Box>
    );
  }
  return <Table columns={GPU_COLUMNS} rows={list.rows} selected={list.selected} height={height} width={width} empty="no offerings" />;
}
