// Where an agent keeps its files on the node, and small naming helpers.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function agentPaths(nodeDir: string) {
  const dir = join(nodeDir, 'agent');
  return {
    dir,
    socket: join(dir, 'agent.sock'),
    pid: join(dir, 'agent.pid'),
    log: join(dir, 'agent.log'),
    journal: join(dir, 'journal.jsonl'),
    state: join(dir, 'state.json'),
    info: join(dir, 'agent.json'),
    marker: join(nodeDir, 'autostopped.json'),
  };
}

export function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  renameSync(tmp, path);
}

/** SkyPilot-style task id: sky-YYYY-MM-DD-HH-MM-SS-ffffff_<cluster>_<job>. */
export function makeTaskId(at: number, cluster: string, jobId: number): string {
  const d = new Date(at);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
  return `sky-${stamp}-${p(d.getMilliseconds() * 1000, 6)}_${cluster}_${jobId}`;
}

export function describeDemand(numNodes: number, d: { cpus: number; gpus: number; accelerator?: string }): string {
  const parts = [`CPU:${d.cpus}`];
  if (d.gpus > 0) parts.push(`${d.accelerator ?? 'GPU'}:${d.gpus}`);
  return `${numNodes}x[${parts.join(', ')}]`;
}

