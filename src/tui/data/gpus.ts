// The GPUs view's data. The catalog/optimizer (src/catalog, src/optimizer) is owned by another
// contributor; `aloft top` looks it up at run time through loadGpuCatalog() so the dashboard
// works before it lands. HOOK: once the optimizer exports a catalog listing, map it here.
import type { Column, Row } from '../render/table.js';
import { formatDollars } from '../render/format.js';

export interface GpuOffering {
  accelerator: string;
  count: number;
  cloud: string;
  instanceType: string;
  region?: string;
  hourlyPrice?: number;
  spotPrice?: number;
  memoryGiB?: number;
}

export type GpuCatalog = { offerings: GpuOffering[] } | { note: string };

export const GPU_COLUMNS: Column[] = [
  { title: 'GPU' },
  { title: 'QTY', align: 'right' },
  { title: 'CLOUD' },
  { title: 'INSTANCE', max: 28, flex: true },
  { title: 'REGION', max: 20 },
  { title: 'GPU MEM', align: 'right' },
  { title: '$/HR', align: 'right' },
  { title: 'SPOT $/HR', align: 'right' },
];

export function gpuRow(o: GpuOffering, i: number): Row {
  return {
    key: `${o.cloud}/${o.instanceType}/${o.region ?? ''}/${i}`,
    cells: [
      o.accelerator,
      String(o.count),
      o.cloud,
      o.instanceType,
      o.region ?? '-',
      o.memoryGiB ? `${o.memoryGiB}GiB` : '-',
      formatDollars(o.hourlyPrice),
      formatDollars(o.spotPrice),
    ],
  };
}

export const GPU_NOTE = 'The GPU catalog appears here once the optimizer is available in this build.';

/**
 * Finds a catalog listing at run time. The specifier is computed so the build does not depend on
 * a module another contributor is still writing.
 */
export async function loadGpuCatalog(): Promise<GpuCatalog> {
  const candidates = ['../../optimizer/index.js', '../../catalog/index.js'];
  for (const spec of candidates) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(new URL(spec, import.meta.url).href)) as Record<string, unknown>;
    } catch {
      continue;
    }
    const list = mod['listAccelerators'] ?? mod['listGpus'];
    if (typeof list === 'function') {
      const raw = (await (list as () => unknown)()) as unknown;
      if (Array.isArray(raw)) return { offerings: raw.map(toOffering).filter((o): o is GpuOffering => o !== undefined) };
    }
  }
  return { note: GPU_NOTE };
}

function toOffering(x: unknown): GpuOffering | undefined {
  if (!x || typeof x !== 'object') return undefined;
  const o = x as Record<string, unknown>;
  const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const num = (k: string) => (typeof o[k] === 'number' ? (o[k] as number) : undefined);
  const accelerator = str('accelerator') ?? str('acceleratorName') ?? str('name');
  if (!accelerator) return undefined;
  return {
    accelerator,
    count: num('count') ?? num('acceleratorCount') ?? 1,
    cloud: str('cloud') ?? '-',
    instanceType: str('instanceType') ?? '-',
    region: str('region'),
    hourlyPrice: num('hourlyPrice') ?? num('price'),
    spotPrice: num('spotPrice'),
    memoryGiB: num('gpuMemoryGiB') ?? num('memoryGiB'),
  };
}
