// Finds and kills every process that belongs to a local node, however it was started: each
// node's processes carry ALOFT_NODE_DIR=<node dir> in their environment (the agent sets it and
// its jobs inherit it), so a /proc sweep catches daemonized grandchildren too.
import { readdirSync, readFileSync } from 'node:fs';
import { processRunning } from '../../util/process.js';

export function processesWithEnv(keys: string[], valuePrefix: string): number[] {
  const needles = keys.map((k) => `${k}=${valuePrefix}`);
  const found: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${e}/environ`, 'latin1');
      const match = env.split('\0').some((kv) =>
        needles.some((n) => kv.startsWith(n) && (kv.length === n.length || kv[n.length] === '/')),
      );
      if (match) found.push(pid);
    } catch {
      /* gone, or not ours */
    }
  }
  return found;
}

/**
 * SIGTERM, then SIGKILL after `graceMs` for whatever is left; `graceMs` 0 is SIGKILL at once (a
 * reclaimed node: nobody gets to react, not even the agent). Resolves when all are gone.
 */
export async function killProcesses(pids: number[], graceMs = 1500): Promise<void> {
  if (graceMs > 0) {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  }
  const deadline = Date.now() + graceMs;
  let left = pids.filter(processRunning);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = left.filter(processRunning);
  }
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  const hardDeadline = Date.now() + 3000;
  while (left.length > 0 && Date.now() < hardDeadline) {
    await new Promise((r) => setTimeout(r, 25));
    left = left.filter(processRunning);
  }
}

/** Kills every process of the node dirs under `prefix`, repeating until none is left (forks race the sweep). */
export async function sweep(prefix: string, graceMs = 1500): Promise<void> {
  for (let round = 0; round < 5; round++) {
    // Jobs run with HOME set to their node dir, so HOME catches them even if their env was cleaned.
    const pids = processesWithEnv(['ALOFT_NODE_DIR', 'HOME'], prefix);
    if (pids.length === 0) return;
    await killProcesses(pids, round === 0 || graceMs === 0 ? graceMs : 200);
  }
}
