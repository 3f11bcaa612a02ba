// The GPUs view's data: the accelerator catalog (src/catalog, owned by the optimizer work),
// loaded lazily so `aloft top` starts without parsing catalogs nobody looks at.
import type { GpuOffer, GpuSummary } from '../../catalog/gpus.js';
import { errorMessage } from '../../util/errors.js';
import type { Column, Row } from '../render/table.js';
import { formatDollars } from '../render/format.js';

export type { GpuOffer, GpuSummary };

export interface GpuSource {
  /** one row per accelerator */
  summary(): GpuSummary[];
  /** offers of one accelerator: per count, cloud and shape */
  offers(name: string): GpuOffer[];
}

export type GpuCatalog = GpuSource | { note: string };

export const GPU_SUMMARY_COLUMNS: Column[] = [
  { title: 'GPU' },
  { title: 'MEM', align: 'right' },
  { title: 'QTY', max: 24 },
  { title: 'CLOUDS', flex: true, max: 40 },
  { title: 'FROM $/HR', align: 'right' },
  { title: 'SPOT FROM $/HR', align: 'right' },
];

export function gpuSummaryRow(s: GpuSummary): Row {
  return {
    key: s.accelerator,
    cells: [
      s.accelerator,
      s.memoryGiB ? `${s.memoryGiB}GiB` : '-',
      s.counts.join(', '),
      s.clouds.join(', '),
      formatDollars(s.price),
      formatDollars(s.spotPrice),
    ],
  };
}

export const GPU_OFFER_COLUMNS: Column[] = [
  { title: 'GPU' },
  { title: 'QTY', align: 'right' },
  { title: 'CLOUD' },
  { title: 'INSTANCE', max: 28, flex: true },
  { title: 'REGION', max: 20 },
  { title: 'GPU MEM', align: 'right' },
  { title: 'vCPUs', align: 'right' },
  { title: '$/HR', align: 'right' },
  { title: 'SPOT $/HR', align: 'right' },
];

export function gpuOfferRow(o: GpuOffer, i: number): Row {
  return {
    key: `${o.cloud}/${o.instanceType}/${o.count}/${o.region}/${i}`,
    cells: [
      o.accelerator,
      String(o.count),
      o.cloud,
      o.instanceType,
      o.region || '-',
      o.memoryGiB ? `${o.memoryGiB}GiB` : '-',
      String(o.cpus),
      formatDollars(o.price),
      formatDollars(o.spotPrice),
    ],
  };
}

/** The catalog, or a one-line note when this build has none (or it fails to load). */
export async function loadGpuCatalog(): Promise<GpuCatalog> {
  try {
    const m = await import('../../catalog/gpus.js');
    return { summary: () => m.summarizeGpus(), offers: (name) => m.listGpuOffers({ name }) };
  } catch (err) {
    return { note: `GPU catalog unavailable: ${errorMessage(err).split('\n')[0]}` };
  }
}
