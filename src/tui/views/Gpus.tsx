// `:gpus`: accelerators in the catalog; enter lists one accelerator's offers.
import { useEffect, useMemo, useState } from 'react';
import { Box, Text } from 'ink';
import { errorMessage } from '../../util/errors.js';
import { useDeps, useNavDispatch } from '../context.js';
import { PRIORITY, useKeyLayer, type KeyAction } from '../keys/dispatcher.js';
import { GPU_OFFER_COLUMNS, GPU_SUMMARY_COLUMNS, gpuOfferRow, gpuSummaryRow, type GpuCatalog } from '../data/gpus.js';
import type { Row } from '../render/table.js';
import { Table } from '../components/Table.js';
import { useList } from './useList.js';

export const NO_CATALOG = 'No GPU catalog in this build.';

export function GpusView({ accelerator, height, width }: { accelerator?: string; height: number; width: number }) {
  const deps = useDeps();
  const nav = useNavDispatch();
  const [state, setState] = useState<{ rows: Row[] } | { note: string } | null>(null);
  useEffect(() => {
    let live = true;
    (async (): Promise<{ rows: Row[] } | { note: string }> => {
      const cat: GpuCatalog = deps.loadGpus ? await deps.loadGpus() : { note: NO_CATALOG };
      if ('note' in cat) return cat;
      return { rows: accelerator ? cat.offers(accelerator).map(gpuOfferRow) : cat.summary().map(gpuSummaryRow) };
    })().then(
      (s) => live && setState(s),
      (err: unknown) => live && setState({ note: `GPU catalog unavailable: ${errorMessage(err).split('\n')[0]}` }),
    );
    return () => {
      live = false;
    };
  }, [deps, accelerator]);
  const all = useMemo(() => (state && 'rows' in state ? state.rows : []), [state]);
  const list = useList(all, height - 1, { sortable: false });
  const actions: KeyAction[] = [...list.actions];
  if (!accelerator) {
    actions.push({
      command: 'nav.enter',
      label: 'Offers',
      run: () => list.selectedKey && nav({ type: 'push', view: { kind: 'gpus', accelerator: list.selectedKey } }),
    });
  }
  useKeyLayer({ priority: PRIORITY.view, actions, title: 'gpus' });
  if (!state) return <Text dimColor>loading the catalog…</Text>;
  if ('note' in state) {
    return (
      <Box height={height}>
        <Text dimColor>{state.note}</Text>
      </Box>
    );
  }
  return (
    <Table
      columns={accelerator ? GPU_OFFER_COLUMNS : GPU_SUMMARY_COLUMNS}
      rows={list.rows}
      selected={list.selected}
      height={height}
      width={width}
      empty={accelerator ? `no offers for ${accelerator}` : 'the catalog lists no accelerators'}
    />
  );
}
