// `aloft top --once`: the clusters view as plain text, for scripts and pipes (no Ink, no colour).
import type { StateSnapshot } from '../protocol/model.js';
import { CLUSTER_COLUMNS, clusterRow, lastJobText, shownJob } from './render/rows.js';
import { clusterComparator } from './render/sort.js';
import { plainTable } from './render/table.js';
import { formatDollars } from './render/format.js';
import { activeJobsByCluster } from './state/reducer.js';

export function onceText(s: StateSnapshot, opts: { home: string; version?: string; width?: number; now?: number }): string {
  const now = opts.now ?? Date.now();
  const jobs = new Map(s.jobs.map((j) => [`${j.clusterUid}/${j.id}`, j]));
  const clusters = [...s.clusters].sort(clusterComparator('name'));
  const counts = new Map<string, number>();
  let hourly = 0;
  for (const c of clusters) {
    counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
    if (c.status !== 'STOPPED') hourly += c.hourlyPrice || 0; // cloud VMs bill while INIT (provisioning, agent lost) too
  }
  const byState = [...counts].map(([k, n]) => `${k} ${n}`).join(', ');
  const head = `aloft${opts.version ? ` ${opts.version}` : ''} · ${opts.home} · clusters ${clusters.length}${byState ? ` (${byState})` : ''} · UP ${formatDollars(hourly) === '-' ? '$0.00' : formatDollars(hourly)}/hr`;
  const active = activeJobsByCluster(jobs);
  const rows = clusters.map((c) =>
    clusterRow(c, now, lastJobText(shownJob(c, active.get(c.uid), c.lastJobId === undefined ? undefined : jobs.get(`${c.uid}/${c.lastJobId}`)))),
  );
  const body = rows.length ? plainTable(CLUSTER_COLUMNS, rows, opts.width ?? 200) : 'No existing clusters.';
  return `${head}\n${body}\n`;
}
