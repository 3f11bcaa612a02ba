// Resource detection that works on any Linux node through a transport: one bash round trip.
import type { NodeResources } from '../protocol/model.js';
import type { Transport } from './types.js';

const DETECT_SCRIPT = String.raw`
echo "cpus $(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)"
echo "memkb $(awk '/MemTotal/ {print $2}' /proc/meminfo 2>/dev/null)"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | sed 's/^/gpu nvidia /'
fi
if command -v amd-smi >/dev/null 2>&1; then
  amd-smi static --asic --json 2>/dev/null | grep -o '"market_name": *"[^"]*"' | sed 's/.*: *"\(.*\)"/gpu amd \1/'
elif command -v rocm-smi >/dev/null 2>&1; then
  rocm-smi --showproductname 2>/dev/null | grep -i 'card series' | sed 's/.*: *//; s/^/gpu amd /'
fi
`;

/** Maps a vendor's marketing name to the short accelerator name users write (A100, H100, MI300X). */
export function normalizeGpuName(vendor: string, raw: string): string {
  const name = raw.trim();
  const nvidia = name.match(/\b(GB200|B200|B100|H200|H100|A100|A10G|A10|L40S|L40|L4|T4|V100|P100|P4|K80|A6000|A5000|A4000|RTX ?\w+)\b/i);
  if (vendor === 'nvidia' && nvidia) {
    let n = nvidia[1]!.toUpperCase().replace(' ', '');
    if (n === 'A100' && /80\s?GB/i.test(name)) n = 'A100-80GB';
    return n;
  }
  const amd = name.match(/\bMI\s?(\d{3}[A-Z]*)\b/i);
  if (vendor === 'amd' && amd) return `MI${amd[1]!.toUpperCase()}`;
  return name.replace(/\s+/g, '-');
}

export function parseDetectOutput(out: string): NodeResources {
  const res: NodeResources = { cpus: 0, memoryGiB: 0, accelerators: {} };
  for (const line of out.split('\n')) {
    const [key, ...rest] = line.trim().split(' ');
    if (key === 'cpus') res.cpus = Number(rest[0]) || 0;
    else if (key === 'memkb') res.memoryGiB = Math.round(((Number(rest[0]) || 0) / 1024 / 1024) * 10) / 10;
    else if (key === 'gpu' && rest.length >= 2) {
      const name = normalizeGpuName(rest[0]!, rest.slice(1).join(' '));
      res.accelerators[name] = (res.accelerators[name] ?? 0) + 1;
    }
  }
  return res;
}

export async function detectResources(t: Transport): Promise<NodeResources> {
  const r = await t.exec(DETECT_SCRIPT, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`resource detection failed on node: ${r.stderr.trim().split('\n').pop()}`);
  return parseDetectOutput(r.stdout);
}
