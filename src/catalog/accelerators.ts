// One registry of accelerator names. Users, catalogs, Kubernetes labels and nvidia-smi all spell
// GPUs differently; everything is mapped to one canonical name here so filters compare like with like.
import { UserError } from '../util/errors.js';

export type AcceleratorVendor = 'nvidia' | 'amd' | 'aws' | 'google';

export interface AcceleratorInfo {
  /** canonical name, as shown in tables and stored in catalogs */
  name: string;
  vendor: AcceleratorVendor;
  /** memory of one device in GiB (0 when unknown) */
  memoryGiB: number;
  aliases: string[];
}

// [canonical, vendor, GiB per device, aliases...]
const TABLE: Array<[string, AcceleratorVendor, number, ...string[]]> = [
  // NVIDIA data-center
  ['GB200', 'nvidia', 186],
  ['B200', 'nvidia', 180, 'nvidia-b200'],
  ['B100', 'nvidia', 192],
  ['GH200', 'nvidia', 96],
  ['H200', 'nvidia', 141, 'nvidia-h200-141gb', 'H200-141GB'],
  ['H100', 'nvidia', 80, 'nvidia-h100-80gb', 'H100-80GB', 'H100-SXM', 'H100-SXM5', 'H100-PCIE'],
  ['H100-MEGA', 'nvidia', 80, 'nvidia-h100-mega-80gb', 'H100-MEGA-80GB'],
  ['H100-NVL', 'nvidia', 94],
  ['H800', 'nvidia', 80],
  ['A100', 'nvidia', 40, 'nvidia-tesla-a100', 'A100-40GB', 'A100-SXM4-40GB', 'A100-PCIE-40GB'],
  ['A100-80GB', 'nvidia', 80, 'nvidia-a100-80gb', 'A100-SXM4-80GB', 'A100-PCIE-80GB', 'A10080GB'],
  ['A800', 'nvidia', 80],
  ['A40', 'nvidia', 48],
  ['A30', 'nvidia', 24],
  ['A16', 'nvidia', 16],
  ['A10G', 'nvidia', 24],
  ['A10', 'nvidia', 24],
  ['L40S', 'nvidia', 48, 'nvidia-l40s'],
  ['L40', 'nvidia', 48],
  ['L4', 'nvidia', 24, 'nvidia-l4'],
  ['T4', 'nvidia', 16, 'nvidia-tesla-t4', 'Tesla-T4'],
  ['V100', 'nvidia', 16, 'nvidia-tesla-v100', 'Tesla-V100', 'V100-16GB', 'V100-SXM2'],
  ['V100-32GB', 'nvidia', 32],
  ['P100', 'nvidia', 16, 'nvidia-tesla-p100', 'Tesla-P100'],
  ['P40', 'nvidia', 24],
  ['P4', 'nvidia', 8, 'nvidia-tesla-p4', 'Tesla-P4'],
  ['K80', 'nvidia', 12, 'nvidia-tesla-k80', 'Tesla-K80'],
  ['M60', 'nvidia', 8],
  // NVIDIA workstation / consumer
  ['RTXPRO6000', 'nvidia', 96, 'RTX-PRO-6000', 'RTX PRO 6000'],
  ['RTX6000-Ada', 'nvidia', 48, 'RTX-6000-Ada', 'RTX6000Ada', 'RTX 6000 Ada'],
  ['RTXA6000', 'nvidia', 48, 'A6000', 'RTX-A6000', 'RTX A6000'],
  ['RTXA5000', 'nvidia', 24, 'A5000', 'RTX-A5000', 'RTX A5000'],
  ['RTXA4000', 'nvidia', 16, 'A4000', 'RTX-A4000', 'RTX A4000'],
  ['RTX5090', 'nvidia', 32, 'RTX-5090', 'GeForce RTX 5090'],
  ['RTX4090', 'nvidia', 24, 'RTX-4090', 'GeForce RTX 4090'],
  ['RTX3090', 'nvidia', 24, 'RTX-3090', 'GeForce RTX 3090'],
  // AMD Instinct and Radeon
  ['MI355X', 'amd', 288, 'Instinct MI355X'],
  ['MI325X', 'amd', 256, 'Instinct MI325X'],
  ['MI300X', 'amd', 192, 'Instinct MI300X', 'MI300'],
  ['MI300A', 'amd', 128, 'Instinct MI300A'],
  ['MI250X', 'amd', 128, 'Instinct MI250X'],
  ['MI250', 'amd', 128, 'Instinct MI250'],
  ['MI210', 'amd', 64, 'Instinct MI210'],
  ['MI100', 'amd', 32, 'Instinct MI100'],
  ['MI60', 'amd', 32],
  ['MI50', 'amd', 32],
  ['Radeon-Pro-W7900', 'amd', 48, 'W7900', 'RadeonProW7900', 'Radeon Pro W7900', 'Pro W7900'],
  ['Radeon-Pro-W7800', 'amd', 32, 'W7800', 'RadeonProW7800', 'Radeon Pro W7800', 'Pro W7800'],
  ['RX7900XTX', 'amd', 24, 'RX 7900 XTX', 'Radeon RX 7900 XTX', '7900XTX', 'RX-7900-XTX'],
  ['RX7900XT', 'amd', 20, 'RX 7900 XT', 'Radeon RX 7900 XT', '7900XT'],
  // AWS silicon
  ['Trainium', 'aws', 32, 'trn1', 'Trainium1'],
  ['Trainium2', 'aws', 96, 'trn2'],
  ['Inferentia2', 'aws', 32, 'inf2'],
  ['Inferentia', 'aws', 8, 'inf1'],
];

/** Lower-cases and drops separators and vendor words, so "NVIDIA Tesla T4" and "t4" meet. */
function key(name: string): string {
  return name
    .toLowerCase()
    .replace(/^(nvidia|amd|aws)[\s_-]+/, '')
    .replace(/[\s_-]+/g, '');
}

const REGISTRY = new Map<string, AcceleratorInfo>();
const BY_KEY = new Map<string, AcceleratorInfo>();
for (const [name, vendor, memoryGiB, ...aliases] of TABLE) {
  const info: AcceleratorInfo = { name, vendor, memoryGiB, aliases };
  REGISTRY.set(name, info);
  for (const n of [name, ...aliases]) BY_KEY.set(key(n), info);
}

// TPU slices (tpu-v4-8, tpu-v5litepod-16 ...) are a family with open-ended sizes.
const TPU = /^tpu-v\d+[a-z]*(-\d+)?$/i;

export function listAccelerators(): AcceleratorInfo[] {
  return [...REGISTRY.values()];
}

/** Canonical name for `name`, or undefined when it is not a known accelerator. */
export function canonicalAccelerator(name: string): string | undefined {
  const hit = BY_KEY.get(key(name));
  if (hit) return hit.name;
  if (TPU.test(name.trim())) return name.trim().toLowerCase();
  return undefined;
}

export function acceleratorInfo(name: string): AcceleratorInfo | undefined {
  const c = canonicalAccelerator(name);
  return c ? REGISTRY.get(c) : undefined;
}

/** GiB of one device, 0 when unknown. */
export function acceleratorMemoryGiB(name: string): number {
  return acceleratorInfo(name)?.memoryGiB ?? 0;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** Closest known canonical names to a misspelt `name`, best first. */
export function suggestAccelerators(name: string, max = 3): string[] {
  const k = key(name);
  const scored: Array<[number, number, string]> = [];
  for (const [alias, info] of BY_KEY) {
    const d = editDistance(k, alias);
    if (d > Math.max(2, Math.floor(k.length / 3))) continue;
    // "mi300" is more likely a cut-short "mi300x" than a mistyped "mi100".
    const prefix = alias.startsWith(k) || k.startsWith(alias) ? 0.5 : 0;
    scored.push([d - prefix, Math.abs(alias.length - k.length), info.name]);
  }
  scored.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2].localeCompare(b[2]));
  return [...new Set(scored.map(([, , n]) => n))].slice(0, max);
}

export class UnknownAcceleratorError extends UserError {
  constructor(readonly accelerator: string) {
    const s = suggestAccelerators(accelerator);
    super(
      `unknown accelerator '${accelerator}'` + (s.length ? `; did you mean ${s.join(', ')}?` : ' (see `aloft gpus list`)'),
      'UNKNOWN_ACCELERATOR',
    );
  }
}

/** A resolved accelerator requirement: a specific device, or any device with enough memory. */
export type AcceleratorMatcher =
  | { kind: 'name'; name: string; count: number }
  | { kind: 'memory'; minGiB: number; atLeast: boolean; count: number };

/**
 * Resolves a requested name as written ("a100", "A100-80GB", "80GB+", "48GB"). Unknown names throw
 * UnknownAcceleratorError with suggestions.
 */
export function resolveAccelerator(name: string, count: number): AcceleratorMatcher {
  const mem = name.trim().match(/^(\d+(?:\.\d+)?)\s*GB(\+)?$/i);
  if (mem) return { kind: 'memory', minGiB: Number(mem[1]), atLeast: mem[2] === '+', count };
  const c = canonicalAccelerator(name);
  if (!c) throw new UnknownAcceleratorError(name);
  return { kind: 'name', name: c, count };
}

/** Parses "A100", "A100:8", "80GB+:8", "H100:0.5" into a name and count (default 1). */
export function parseAcceleratorString(spec: string): { name: string; count: number } {
  const s = spec.trim();
  const i = s.lastIndexOf(':');
  if (i < 0) return { name: s, count: 1 };
  const name = s.slice(0, i).trim();
  const count = Number(s.slice(i + 1));
  if (!name || !Number.isFinite(count) || count <= 0) {
    throw new UserError(`invalid accelerator '${spec}': expected NAME or NAME:COUNT (e.g. A100:8)`);
  }
  return { name, count };
}

/** Human form of a matcher, e.g. "A100:8" or "80GB+:8". */
export function describeMatcher(m: AcceleratorMatcher): string {
  return m.kind === 'name' ? `${m.name}:${m.count}` : `${m.minGiB}GB${m.atLeast ? '+' : ''}:${m.count}`;
}

/** Does a device named `device` (canonical or raw) satisfy the matcher's name/memory part? */
export function deviceMatches(m: AcceleratorMatcher, device: string, deviceMemGiB?: number): boolean {
  if (m.kind === 'name') return (canonicalAccelerator(device) ?? device) === m.name;
  const mem = deviceMemGiB ?? acceleratorMemoryGiB(device);
  return m.atLeast ? mem >= m.minGiB : Math.abs(mem - m.minGiB) < 1;
}
