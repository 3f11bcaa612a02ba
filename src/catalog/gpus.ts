// `aloft gpus list`: which accelerators exist where, and their cheapest on-demand and spot prices.
import { type Catalog, type Offering, loadCatalog } from './catalog.js';
import { acceleratorInfo, deviceMatches, resolveAccelerator } from './accelerators.js';
import { parseInfraPattern, selectorMatches } from '../optimizer/infra.js';

export interface GpuSummary {
  accelerator: string;
  memoryGiB: number;
  counts: number[];
  clouds: string[];
  /** cheapest on-demand / spot $/hr of any offering with this accelerator */
  price?: number;
  spotPrice?: number;
}

export interface GpuOffer {
  accelerator: string;
  count: number;
  cloud: string;
  /** the cheapest region (or each region with allRegions) */
  region: string;
  instanceType: string;
  memoryGiB: number;
  cpus: number;
  hostMemoryGiB: number;
  price?: number;
  spotPrice?: number;
  /** spot price's region when it differs from the on-demand one */
  spotRegion?: string;
}

export interface GpuListOptions {
  name?: string;
  infra?: string;
  allRegions?: boolean;
  catalog?: Catalog;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

function offerings(opts: GpuListOptions): Offering[] {
  const catalog = opts.catalog ?? loadCatalog();
  const infra = opts.infra ? parseInfraPattern(opts.infra) : undefined;
  const out: Offering[] = [];
  for (const [k, list] of catalog.byAccelerator) {
    if (k === '') continue;
    for (const o of list) if (!infra || selectorMatches(infra, o.cloud, o.region, o.zone)) out.push(o);
  }
  return out;
}

/** One row per accelerator name: counts, clouds and the cheapest prices. */
export function summarizeGpus(opts: GpuListOptions = {}): GpuSummary[] {
  const by = new Map<string, GpuSummary>();
  for (const o of offerings(opts)) {
    const name = o.accelerator!;
    let s = by.get(name);
    if (!s) by.set(name, (s = { accelerator: name, memoryGiB: o.acceleratorMemGiB || (acceleratorInfo(name)?.memoryGiB ?? 0), counts: [], clouds: [] }));
    if (!s.counts.includes(o.acceleratorCount)) s.counts.push(o.acceleratorCount);
    if (!s.clouds.includes(o.cloud)) s.clouds.push(o.cloud);
    s.price = minDefined(s.price, o.price);
    s.spotPrice = minDefined(s.spotPrice, o.spotPrice);
  }
  const rows = [...by.values()];
  for (const r of rows) {
    r.counts.sort((a, b) => a - b);
    r.clouds.sort();
  }
  return rows.sort((a, b) => a.accelerator.localeCompare(b.accelerator));
}

/** Offers of one accelerator (name or memory form like "80GB+"): per count, cloud and shape. */
export function listGpuOffers(opts: GpuListOptions & { name: string }): GpuOffer[] {
  const m = resolveAccelerator(opts.name, 1);
  const groups = new Map<string, GpuOffer>();
  for (const o of offerings(opts)) {
    if (!deviceMatches(m, o.accelerator!, o.acceleratorMemGiB)) continue;
    // GCP attachable GPUs pair with many N1 hosts: list the cheapest host only.
    const flexible = o.hostPrice !== undefined && o.instanceType?.startsWith('n1-');
    const shape = flexible ? 'n1-*' : (o.instanceType ?? '-');
    const key = [o.accelerator, o.acceleratorCount, o.cloud, flexible ? 'n1' : shape, opts.allRegions ? o.region : ''].join('\0');
    const g = groups.get(key);
    if (!g) {
      groups.set(key, {
        accelerator: o.accelerator!,
        count: o.acceleratorCount,
        cloud: o.cloud,
        region: o.region,
        instanceType: o.instanceType ?? '-',
        memoryGiB: o.acceleratorMemGiB,
        cpus: o.cpus,
        hostMemoryGiB: o.memoryGiB,
        price: o.price,
        spotPrice: o.spotPrice,
        spotRegion: o.region,
      });
      continue;
    }
    if (o.price !== undefined && (g.price === undefined || o.price < g.price)) {
      g.price = o.price;
      g.region = o.region;
      g.instanceType = o.instanceType ?? '-';
      g.cpus = o.cpus;
      g.hostMemoryGiB = o.memoryGiB;
    }
    if (o.spotPrice !== undefined && (g.spotPrice === undefined || o.spotPrice < g.spotPrice)) {
      g.spotPrice = o.spotPrice;
      g.spotRegion = o.region;
    }
  }
  const rows = [...groups.values()];
  for (const r of rows) if (r.spotRegion === r.region) delete r.spotRegion;
  return rows.sort(
    (a, b) => a.accelerator.localeCompare(b.accelerator) || a.count - b.count || (a.price ?? Infinity) - (b.price ?? Infinity) || a.cloud.localeCompare(b.cloud) || a.region.localeCompare(b.region),
  );
}
