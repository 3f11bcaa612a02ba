// Interactive sessions keep a cluster busy for autostop (SkyPilot does the same for ssh
// sessions). `aloft ssh` marks its shell with ALOFT_SESSION=<node dir>; a session is any live
// process carrying that mark for a node of this cluster on this machine.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export function activeSessions(nodeDir: string): number {
  // Nodes of one cluster on one machine share a parent directory (local infra, or two pool
  // entries that are the same host), so a session on any of them counts.
  const clusterDir = dirname(nodeDir) + '/';
  let n = 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0; // not Linux: sessions are not detected
  }
  for (const e of entries) {
    if (e.charCodeAt(0) > 57) continue; // not a pid
    try {
      const env = readFileSync(`/proc/${e}/environ`, 'latin1');
      const i = env.indexOf('ALOFT_SESSION=');
      if (i < 0) continue;
      const end = env.indexOf('\0', i);
      const value = env.slice(i + 'ALOFT_SESSION='.length, end < 0 ? undefined : end);
      if (value === nodeDir || value.startsWith(clusterDir)) n++;
    } catch {
      /* gone, or not ours to read */
    }
  }
  return n;
}
