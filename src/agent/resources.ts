// What this node has: cores, memory and GPUs (nvidia-smi / amd-smi / rocm-smi when installed).
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import os from 'node:os';
import { delimiter, join } from 'node:path';
import type { NodeResources } from '../protocol/model.js';

function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      /* not here */
    }
  }
  return false;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 15_000 }, (err, stdout) => resolve(err ? '' : String(stdout)));
  });
}

/** Short names users write in task YAMLs (A100, H100, MI300X) from vendors' marketing names. */
export function gpuShortName(vendor: 'nvidia' | 'amd', raw: string): string {
  const name = raw.trim();
  if (vendor === 'nvidia') {
    const m = name.match(/\b(GB200|B200|B100|H200|H100|A100|A10G|A10|L40S|L40|L4|T4|V100|P100|P4|K80|A6000|A5000|A4000|RTX ?\w+)\b/i);
    if (m) {
      let n = m[1]!.toUpperCase().replace(' ', '');
      if (n === 'A100' && /80\s?GB/i.test(name)) n = 'A100-80GB';
      return n;
    }
  } else {
    const m = name.match(/\bMI\s?(\d{3}[A-Z]*)\b/i);
    if (m) return `MI${m[1]!.toUpperCase()}`;
  }
  return name.replace(/\s+/g, '-');
}

export async function detectResources(): Promise<NodeResources> {
  const res: NodeResources = {
    cpus: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    accelerators: {},
  };
  const add = (name: string) => {
    res.accelerators[name] = (res.accelerators[name] ?? 0) + 1;
  };
  if (onPath('nvidia-smi')) {
    const out = await run('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader']);
    for (const l of out.split('\n')) if (l.trim()) add(gpuShortName('nvidia', l));
  }
  if (onPath('amd-smi')) {
    const out = await run('amd-smi', ['static', '--asic', '--json']);
    for (const m of out.matchAll(/"market_name":\s*"([^"]*)"/g)) add(gpuShortName('amd', m[1]!));
  } else if (onPath('rocm-smi')) {
    const out = await run('rocm-smi', ['--showproductname']);
    for (const l of out.split('\n')) {
      const m = l.match(/card series:\s*(.*)$/i);
      if (m) add(gpuShortName('amd', m[1]!));
    }
  }
  return res;
}

export function totalGpus(r: NodeResources, accelerator?: string): number {
  if (accelerator && r.accelerators[accelerator] !== undefined) return r.accelerators[accelerator]!;
  return Object.values(r.accelerators).reduce((a, b) => a + b, 0);
}
