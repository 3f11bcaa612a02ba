// Loads the per-cloud catalogs (SkyPilot's vms.csv format) into one flat list of offerings: one
// launchable shape in one zone with its on-demand and spot price per node. Loaded lazily, cached.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { aloftHome, packageRoot } from '../util/paths.js';
import { UserError } from '../util/errors.js';
import { acceleratorMemoryGiB, canonicalAccelerator } from './accelerators.js';
import { readCsv } from './csv.js';
import { GCP_GPU_HOST, gcpHostFits } from './gcp-hosts.js';

export interface Offering {
  cloud: string;
  region: string;
  zone?: string;
  instanceType?: string;
  /** canonical accelerator name */
  accelerator?: string;
  acceleratorCount: number;
  /** GiB per device */
  acceleratorMemGiB: number;
  /** every accelerator kind on the node (live offerings can mix); catalog rows have one */
  accelerators?: Record<string, number>;
  cpus: number;
  memoryGiB: number;
  /** on-demand $/hr per node (host + accelerators when the catalog splits them); undefined = none */
  price?: number;
  spotPrice?: number;
  /** the parts of a split price, for explanations */
  hostPrice?: number;
  acceleratorPrice?: number;
  /** live offering (local, ssh, kubernetes): requests are "fits within" this node, at price 0 */
  live?: boolean;
  /** live offering: nodes of this shape available now */
  available?: number;
}

export interface Catalog {
  clouds: string[];
  offerings: Offering[];
  /** canonical accelerator → offerings; '' → offerings without accelerators */
  byAccelerator: Map<string, Offering[]>;
  /** where each cloud's file came from */
  sources: Record<string, string>;
}

const num = (s: string | undefined): number | undefined => {
  if (s === undefined || s === '') return undefined;
  const v = Number(s);
  return Number.isFinite(v) ? v : undefined;
};

/** Sums prices the way a person adding the two catalog figures would (no 0.30000000000000004). */
export const addPrices = (a: number, b: number): number => Math.round((a + b) * 1e6) / 1e6;

const REQUIRED = ['InstanceType', 'vCPUs', 'MemoryGiB', 'AcceleratorName', 'AcceleratorCount', 'Region', 'Price', 'SpotPrice'];

/** Parses one cloud's vms.csv text into offerings. */
export function offeringsFromCsv(cloud: string, text: string, source = cloud): Offering[] {
  interface Row {
    type: string;
    cpus: number;
    mem: number;
    acc: string;
    accCount: number;
    gpuMiB?: number;
    region: string;
    zone?: string;
    price?: number;
    spot?: number;
  }
  const rows: Row[] = [];
  const col: Record<string, number> = {};
  readCsv(
    text,
    (names) => {
      names.forEach((h, i) => (col[h] = i));
      const missing = REQUIRED.filter((c) => col[c] === undefined);
      if (missing.length) throw new UserError(`${source}: not a catalog in SkyPilot's format (missing ${missing.join(', ')})`);
    },
    (f) => {
      const region = f[col.Region!] ?? '';
      if (!region) return;
      const gpuInfo = col.GpuInfo !== undefined ? f[col.GpuInfo] : undefined;
      let gpuMiB: number | undefined;
      if (gpuInfo) {
        const m = /SizeInMiB'?"?:\s*(\d+)/.exec(gpuInfo);
        if (m) gpuMiB = Number(m[1]);
      }
      rows.push({
        type: f[col.InstanceType!] ?? '',
        cpus: num(f[col.vCPUs!]) ?? 0,
        mem: num(f[col.MemoryGiB!]) ?? 0,
        acc: f[col.AcceleratorName!] ?? '',
        accCount: num(f[col.AcceleratorCount!]) ?? 0,
        gpuMiB,
        region,
        zone: col.AvailabilityZone !== undefined ? f[col.AvailabilityZone] || undefined : undefined,
        price: num(f[col.Price!]),
        spot: num(f[col.SpotPrice!]),
      });
    },
  );
  if (rows.length === 0 && Object.keys(col).length === 0) throw new UserError(`${source}: empty catalog file`);

  const out: Offering[] = [];
  const accOf = (r: Row) => (r.acc ? (canonicalAccelerator(r.acc) ?? r.acc) : undefined);
  const memOf = (r: Row, acc: string) =>
    r.gpuMiB !== undefined ? Math.round((r.gpuMiB / 1024) * 10) / 10 : acceleratorMemoryGiB(acc);

  const splitPricing = rows.some((r) => !r.type && r.acc);
  if (!splitPricing) {
    for (const r of rows) {
      if (!r.type) continue;
      const acc = accOf(r);
      out.push({
        cloud,
        region: r.region,
        zone: r.zone,
        instanceType: r.type,
        accelerator: acc,
        acceleratorCount: acc ? r.accCount : 0,
        acceleratorMemGiB: acc ? memOf(r, acc) : 0,
        cpus: r.cpus,
        memoryGiB: r.mem,
        price: r.price,
        spotPrice: r.spot,
      });
    }
    return out;
  }

  // Split pricing (GCP): pair every accelerator row with each host in the same zone it fits on.
  const hostsByZone = new Map<string, Row[]>();
  for (const r of rows) {
    if (!r.type) continue;
    const z = r.zone ?? r.region;
    let list = hostsByZone.get(z);
    if (!list) hostsByZone.set(z, (list = []));
    list.push(r);
    if (r.acc || GCP_GPU_HOST.test(r.type)) continue;
    out.push({
      cloud,
      region: r.region,
      zone: r.zone,
      instanceType: r.type,
      acceleratorCount: 0,
      acceleratorMemGiB: 0,
      cpus: r.cpus,
      memoryGiB: r.mem,
      price: r.price,
      spotPrice: r.spot,
    });
  }
  for (const a of rows) {
    if (a.type || !a.acc) continue;
    const acc = accOf(a)!;
    for (const h of hostsByZone.get(a.zone ?? a.region) ?? []) {
      if (!gcpHostFits(acc, a.accCount, h.type, h.cpus, h.mem)) continue;
      out.push({
        cloud,
        region: a.region,
        zone: a.zone,
        instanceType: h.type,
        accelerator: acc,
        acceleratorCount: a.accCount,
        acceleratorMemGiB: memOf(a, acc),
        cpus: h.cpus,
        memoryGiB: h.mem,
        price: h.price !== undefined && a.price !== undefined ? addPrices(h.price, a.price) : undefined,
        spotPrice: h.spot !== undefined && a.spot !== undefined ? addPrices(h.spot, a.spot) : undefined,
        hostPrice: h.price,
        acceleratorPrice: a.price,
      });
    }
  }
  return out;
}

export function buildCatalog(offerings: Offering[], sources: Record<string, string> = {}): Catalog {
  const byAccelerator = new Map<string, Offering[]>();
  const clouds = new Set<string>();
  for (const o of offerings) {
    clouds.add(o.cloud);
    const k = o.accelerator ?? '';
    let list = byAccelerator.get(k);
    if (!list) byAccelerator.set(k, (list = []));
    list.push(o);
  }
  return { clouds: [...clouds].sort(), offerings, byAccelerator, sources };
}

/** Shipped catalogs, then ALOFT_HOME/catalog (written by `aloft catalog pull`), which win. */
export function catalogDirs(): string[] {
  return [join(packageRoot(), 'catalog'), join(aloftHome(), 'catalog')];
}

/** Path of each cloud's vms.csv, the last directory that has one winning. */
export function catalogFiles(dirs = catalogDirs()): Record<string, string> {
  const files: Record<string, string> = {};
  for (const dir of dirs) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const cloud of entries) {
      const f = join(dir, cloud, 'vms.csv');
      if (existsSync(f)) files[cloud] = f;
    }
  }
  return files;
}

let cached: { key: string; catalog: Catalog } | undefined;

/** The catalog of every cloud with a vms.csv, loaded on first use and cached. */
export function loadCatalog(dirs = catalogDirs()): Catalog {
  const key = dirs.join('\0');
  if (cached?.key === key) return cached.catalog;
  const files = catalogFiles(dirs);
  const offerings: Offering[] = [];
  for (const [cloud, file] of Object.entries(files)) {
    for (const o of offeringsFromCsv(cloud, readFileSync(file, 'utf8'), file)) offerings.push(o);
  }
  const catalog = buildCatalog(offerings, files);
  cached = { key, catalog };
  return catalog;
}

export function resetCatalogCache(): void {
  cached = undefined;
}
