#!/usr/bin/env node
// Writes catalog/aws/vms.csv (SkyPilot's AWS catalog columns) from the price table below.
// us-east-1 on-demand figures are AWS's published Linux on-demand list prices (P4/P5 after the
// June 2025 price cut). Other regions apply a per-region factor and spot prices apply a per-family
// discount: both are ESTIMATES (see catalog/README.md). `aloft catalog pull --cloud aws` replaces
// this file with the live catalog on a machine with internet access.
// Usage: node scripts/gen-aws-catalog.mjs [DEST_CSV]
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dest = process.argv[2] ?? resolve(root, 'catalog', 'aws', 'vms.csv');

// region → [price factor vs us-east-1 (estimate), zones]
const REGIONS = {
  'us-east-1': [1.0, ['a', 'b', 'c', 'd', 'f']],
  'us-east-2': [1.0, ['a', 'b', 'c']],
  'us-west-1': [1.17, ['a', 'c']],
  'us-west-2': [1.0, ['a', 'b', 'c', 'd']],
  'eu-west-1': [1.11, ['a', 'b', 'c']],
  'eu-central-1': [1.2, ['a', 'b', 'c']],
  'eu-north-1': [1.05, ['a', 'b', 'c']],
  'ap-northeast-1': [1.29, ['a', 'c', 'd']],
  'ap-southeast-1': [1.25, ['a', 'b', 'c']],
};
const ALL = Object.keys(REGIONS);

// [family, spot discount (estimate), regions, zones per region (undefined = all), sizes]
// size: [suffix, vCPUs, MemoryGiB, price us-east-1, accelerator?, count?]
const SIZES = (perLarge, memPerVcpu, list) =>
  list.map(([suffix, vcpus]) => [suffix, vcpus, vcpus * memPerVcpu, +(perLarge * (vcpus / 2)).toFixed(5)]);
const STD = [['large', 2], ['xlarge', 4], ['2xlarge', 8], ['4xlarge', 16], ['8xlarge', 32], ['12xlarge', 48], ['16xlarge', 64], ['24xlarge', 96], ['32xlarge', 128]];
const SEVEN = [['large', 2], ['xlarge', 4], ['2xlarge', 8], ['4xlarge', 16], ['8xlarge', 32], ['12xlarge', 48], ['16xlarge', 64], ['24xlarge', 96], ['48xlarge', 192]];

const FAMILIES = [
  ['m6i', 0.38, ALL, undefined, SIZES(0.096, 4, STD)],
  ['c6i', 0.38, ALL, undefined, SIZES(0.085, 2, STD)],
  ['r6i', 0.36, ALL, undefined, SIZES(0.126, 8, STD)],
  ['m7i', 0.4, ALL, undefined, SIZES(0.1008, 4, SEVEN)],
  ['c7i', 0.4, ALL, undefined, SIZES(0.08925, 2, SEVEN)],
  ['r7i', 0.38, ALL, undefined, SIZES(0.1323, 8, SEVEN)],
  ['m5', 0.38, ALL, undefined, SIZES(0.096, 4, STD.filter(([s]) => s !== '32xlarge'))],
  ['t3', 0.3, ALL, undefined, [['medium', 2, 4, 0.0416], ['large', 2, 8, 0.0832], ['xlarge', 4, 16, 0.1664], ['2xlarge', 8, 32, 0.3328]]],
  ['g4dn', 0.35, ALL, undefined, [
    ['xlarge', 4, 16, 0.526, 'T4', 1], ['2xlarge', 8, 32, 0.752, 'T4', 1], ['4xlarge', 16, 64, 1.204, 'T4', 1],
    ['8xlarge', 32, 128, 2.176, 'T4', 1], ['16xlarge', 64, 256, 4.352, 'T4', 1], ['12xlarge', 48, 192, 3.912, 'T4', 4],
    ['metal', 96, 384, 7.824, 'T4', 8]]],
  ['g5', 0.4, ALL, undefined, [
    ['xlarge', 4, 16, 1.006, 'A10G', 1], ['2xlarge', 8, 32, 1.212, 'A10G', 1], ['4xlarge', 16, 64, 1.624, 'A10G', 1],
    ['8xlarge', 32, 128, 2.448, 'A10G', 1], ['16xlarge', 64, 256, 4.096, 'A10G', 1], ['12xlarge', 48, 192, 5.672, 'A10G', 4],
    ['24xlarge', 96, 384, 8.144, 'A10G', 4], ['48xlarge', 192, 768, 16.288, 'A10G', 8]]],
  ['g6', 0.4, ALL, undefined, [
    ['xlarge', 4, 16, 0.8048, 'L4', 1], ['2xlarge', 8, 32, 0.9776, 'L4', 1], ['4xlarge', 16, 64, 1.3232, 'L4', 1],
    ['8xlarge', 32, 128, 2.0144, 'L4', 1], ['16xlarge', 64, 256, 3.3968, 'L4', 1], ['12xlarge', 48, 192, 4.6016, 'L4', 4],
    ['24xlarge', 96, 384, 6.6752, 'L4', 4], ['48xlarge', 192, 768, 13.3504, 'L4', 8]]],
  ['g6e', 0.45, ['us-east-1', 'us-east-2', 'us-west-2', 'eu-central-1', 'ap-northeast-1'], undefined, [
    ['xlarge', 4, 32, 1.861, 'L40S', 1], ['2xlarge', 8, 64, 2.24208, 'L40S', 1], ['4xlarge', 16, 128, 3.00424, 'L40S', 1],
    ['8xlarge', 32, 256, 4.52856, 'L40S', 1], ['16xlarge', 64, 512, 7.57719, 'L40S', 1], ['12xlarge', 48, 384, 10.49264, 'L40S', 4],
    ['24xlarge', 96, 768, 15.06559, 'L40S', 4], ['48xlarge', 192, 1536, 30.13118, 'L40S', 8]]],
  ['p3', 0.35, ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'ap-northeast-1'], undefined, [
    ['2xlarge', 8, 61, 3.06, 'V100', 1], ['8xlarge', 32, 244, 12.24, 'V100', 4], ['16xlarge', 64, 488, 24.48, 'V100', 8]]],
  ['p3dn', 0.35, ['us-east-1', 'us-west-2'], 2, [['24xlarge', 96, 768, 31.212, 'V100-32GB', 8]]],
  ['p4d', 0.45, ['us-east-1', 'us-west-2', 'eu-central-1', 'ap-northeast-1'], 2, [['24xlarge', 96, 1152, 21.957642, 'A100', 8]]],
  ['p4de', 0.45, ['us-east-1', 'us-west-2'], 2, [['24xlarge', 96, 1152, 27.447287, 'A100-80GB', 8]]],
  ['p5', 0.5, ['us-east-1', 'us-east-2', 'us-west-2', 'eu-north-1', 'ap-northeast-1'], 2, [['48xlarge', 192, 2048, 55.04, 'H100', 8]]],
  ['p5e', 0.5, ['us-east-2'], 2, [['48xlarge', 192, 2048, 63.2964, 'H200', 8]]],
  ['trn1', 0.4, ['us-east-1', 'us-east-2', 'us-west-2'], 2, [['2xlarge', 8, 32, 1.34375, 'Trainium', 1], ['32xlarge', 128, 512, 21.5, 'Trainium', 16]]],
  ['trn1n', 0.4, ['us-east-1', 'us-east-2', 'us-west-2'], 2, [['32xlarge', 128, 512, 24.78, 'Trainium', 16]]],
  ['inf2', 0.4, ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-northeast-1'], undefined, [
    ['xlarge', 4, 16, 0.7582, 'Inferentia2', 1], ['8xlarge', 32, 128, 1.9679, 'Inferentia2', 1],
    ['24xlarge', 96, 384, 6.4906, 'Inferentia2', 6], ['48xlarge', 192, 768, 12.9813, 'Inferentia2', 12]]],
];

const GPU = {
  T4: ['NVIDIA', 16384], V100: ['NVIDIA', 16384], 'V100-32GB': ['NVIDIA', 32768], A10G: ['NVIDIA', 24576], L4: ['NVIDIA', 24576], L40S: ['NVIDIA', 49152],
  A100: ['NVIDIA', 40960], 'A100-80GB': ['NVIDIA', 81920], H100: ['NVIDIA', 81920], H200: ['NVIDIA', 144384],
  Trainium: ['AWS', 32768], Inferentia2: ['AWS', 32768],
};

const round = (x) => +x.toFixed(5);
const rows = ['InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region,AvailabilityZone'];
for (const [family, spot, regions, zoneCount, sizes] of FAMILIES) {
  for (const [suffix, vcpus, mem, price, acc, count] of sizes) {
    let gpuInfo = '';
    if (acc) {
      const [maker, mib] = GPU[acc];
      gpuInfo = `"{'Gpus': [{'Name': '${acc}', 'Manufacturer': '${maker}', 'Count': ${count}.0, 'MemoryInfo': {'SizeInMiB': ${mib}}}], 'TotalGpuMemoryInMiB': ${mib * count}}"`;
    }
    for (const region of regions) {
      const [factor, zones] = REGIONS[region];
      const od = round(price * factor);
      const sp = round(od * spot);
      for (const z of zones.slice(0, zoneCount ?? zones.length)) {
        rows.push([`${family}.${suffix}`, acc ?? '', acc ? `${count}.0` : '', `${vcpus}.0`, `${mem}.0`, gpuInfo, od, sp, region, `${region}${z}`].join(','));
      }
    }
  }
}
mkdirSync(dirname(dest), { recursive: true });
writeFileSync(dest, rows.join('\n') + '\n');
console.log(`${dest}: ${rows.length - 1} rows`);
