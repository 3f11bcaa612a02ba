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
  /** live offering: the machines nodes are packed onto (kubernetes), to count how many of a demand fit now */
  fitNodes?: import('../optimizer/pod-fit.js').FitNode[];
  /** grouping keys, computed once by the optimizer and kept for the next plan */
  shapeKey?: string;
  zoneKey?: string;
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
  const out: Offering[] = [];
  // Rows with an empty InstanceType price accelerators alone (GCP); they pair with hosts below.
  const accRows: Offering[] = [];
  const col: Record<string, number> = {};
  let iType = 0, iCpu = 0, iMem = 0, iAcc = 0, iCount = 0, iRegion = 0, iPrice = 0, iSpot = 0;
  let iZone = -1, iGpu = -1;
  const names = new Map<string, { name: string; mem: number }>();
  const accName = (raw: string) => {
    let hit = names.get(raw);
    if (!hit) {
      const name = canonicalAccelerator(raw) ?? raw;
      names.set(raw, (hit = { name, mem: acceleratorMemoryGiB(name) }));
    }
    return hit;
  };
  // Regions, zones and instance types repeat across thousands of rows: keep one copy of each.
  const strings = new Map<string, string>();
  const intern = (v: string): string => {
    const hit = strings.get(v);
    if (hit !== undefined) return hit;
    strings.set(v, v);
    return v;
  };
  let sawHeader = false;
  readCsv(
    text,
    (header) => {
      sawHeader = true;
      header.forEach((h, i) => (col[h] = i));
      const missing = REQUIRED.filter((c) => col[c] === undefined);
      if (missing.length) throw new UserError(`${source}: not a catalog in SkyPilot's format (missing ${missing.join(', ')})`);
      [iType, iCpu, iMem, iAcc, iCount, iRegion, iPrice, iSpot] = REQUIRED.map((c) => col[c]!);
      iZone = col.AvailabilityZone ?? -1;
      iGpu = col.GpuInfo ?? -1;
    },
    (f) => {
      const region = f[iRegion];
      if (!region) return;
      const raw = f[iAcc];
      const type = f[iType];
      let accelerator: string | undefined;
      let acceleratorCount = 0;
      let acceleratorMemGiB = 0;
      if (raw) {
        const a = accName(raw);
        accelerator = a.name;
        acceleratorCount = num(f[iCount]) ?? 0;
        acceleratorMemGiB = a.mem;
        const info = iGpu >= 0 ? f[iGpu] : undefined;
        if (info) {
          const m = /SizeInMiB'?"?:\s*(\d+)/.exec(info);
          if (m) acceleratorMemGiB = Math.round((Number(m[1]) / 1024) * 10) / 10;
        }
      }
      const zone = iZone >= 0 ? f[iZone] : undefined;
      const o: Offering = {
        cloud,
        region: intern(region),
        zone: zone ? intern(zone) : undefined,
        instanceType: type ? intern(type) : undefined,
        accelerator,
        acceleratorCount,
        acceleratorMemGiB,
        cpus: num(f[iCpu]) ?? 0,
        memoryGiB: num(f[iMem]) ?? 0,
        price: num(f[iPrice]),
        spotPrice: num(f[iSpot]),
        // Declared up front so every offering keeps one hidden class when the optimizer fills them.
        shapeKey: undefined,
        zoneKey: undefined,
      };
      if (type) out.push(o);
      else if (accelerator) accRows.push(o);
    },
  );
  if (!sawHeader) throw new UserError(`${source}: empty catalog file`);
  if (accRows.length === 0) return out;

  // Split pricing (GCP): pair every accelerator row with each host in the same zone it fits on.
  const hostsByZone = new Map<string, Offering[]>();
  const result: Offering[] = [];
  for (const h of out) {
    const z = h.zone ?? h.region;
    let list = hostsByZone.get(z);
    if (!list) hostsByZone.set(z, (list = []));
    list.push(h);
    if (!h.accelerator && !GCP_GPU_HOST.test(h.instanceType!)) result.push(h);
  }
  for (const a of accRows) {
    for (const h of hostsByZone.get(a.zone ?? a.region) ?? []) {
      if (h.accelerator || !gcpHostFits(a.accelerator!, a.acceleratorCount, h.instanceType!, h.cpus, h.memoryGiB)) continue;
      result.push({
        ...a,
        instanceType: h.instanceType,
        cpus: h.cpus,
        memoryGiB: h.memoryGiB,
        price: h.price !== undefined && a.price !== undefined ? addPrices(h.price, a.price) : undefined,
        spotPrice: h.spotPrice !== undefined && a.spotPrice !== undefined ? addPrices(h.spotPrice, a.spotPrice) : undefined,
        hostPrice: h.price,
        acceleratorPrice: a.price,
      });
    }
  }
  return result;
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
