#!/usr/bin/env node
// Regenerates catalog/gcp/vms.csv from a full GCP catalog in SkyPilot's format (default: the
// 2026-05-20 snapshot in ../shared/catalog-snapshot). The shipped file keeps only the GPU families
// and common CPU families in the main regions, so the catalog loads in milliseconds.
// Usage: node scripts/trim-gcp-catalog.mjs [SOURCE_CSV] [DEST_CSV]
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = process.argv[2] ?? resolve(root, '..', 'shared', 'catalog-snapshot', 'gcp', 'vms.csv');
const dest = process.argv[3] ?? resolve(root, 'catalog', 'gcp', 'vms.csv');

const REGIONS = new Set([
  'us-central1', 'us-east1', 'us-east4', 'us-east5', 'us-west1', 'us-west4',
  'europe-west1', 'europe-west4', 'asia-east1', 'asia-northeast1', 'asia-southeast1',
]);
// Host families: GPU VMs (a2/a3/a4/g2), N1 (hosts for attachable T4/V100/P100/P4) and common CPU VMs.
const HOST = /^(a2-(highgpu|megagpu|ultragpu)-\d+g|a3-(highgpu|megagpu|ultragpu)-\d+g|a4-highgpu-8g|g2-standard-\d+|n1-(standard|highmem|highcpu)-\d+|n2-(standard|highmem|highcpu)-\d+|e2-(standard|highmem|highcpu)-\d+)$/;
const ACCELERATORS = new Set(['A100', 'A100-80GB', 'H100', 'H100-MEGA', 'H200', 'B200', 'L4', 'T4', 'V100', 'P100', 'P4']);

const lines = readFileSync(src, 'utf8').split(/\r?\n/);
const header = lines[0];
const cols = header.split(',');
const idx = (name) => {
  const i = cols.indexOf(name);
  if (i < 0) throw new Error(`${src}: no ${name} column`);
  return i;
};
const [iType, iAcc, iRegion] = [idx('InstanceType'), idx('AcceleratorName'), idx('Region')];
const out = [header];
for (const line of lines.slice(1)) {
  if (!line) continue;
  if (line.includes('"')) throw new Error('quoted fields are not expected in the GCP snapshot');
  const f = line.split(',');
  if (!REGIONS.has(f[iRegion])) continue;
  const type = f[iType];
  if (type ? HOST.test(type) : ACCELERATORS.has(f[iAcc])) out.push(line);
}
mkdirSync(dirname(dest), { recursive: true });
writeFileSync(dest, out.join('\n') + '\n');
console.log(`${dest}: ${out.length - 1} rows`);
