// Pure mappings from records to table rows and status colours, shared by listings.
import type { ClusterRecord, ClusterStatus, JobRecord, JobStatus } from '../protocol/model.js';
import { ago, color, duration } from './table.js';

export function clusterStatusColor(s: ClusterStatus): string {
  return s === 'UP' ? 'green' : s === 'INIT' ? 'yellow' : s === 'STOPPED' ? 'gray' : 'red';
}

export function jobStatusColor(s: JobStatus): string {
  switch (s) {
    case 'SUCCEEDED':
      return 'green';
    case 'RUNNING':
    case 'SETTING_UP':
      return 'cyan';
    case 'PENDING':
    case 'INIT':
      return 'yellow';
    case 'CANCELLED':
      return 'gray';
    default:
      return 'red';
  }
}

export function autostopText(c: ClusterRecord): string {
  if (!c.autostop) return '-';
  return `${c.autostop.idleMinutes}m${c.autostop.down ? ' (down)' : ''}`;
}

// USER (who launched / submitted), where SkyPilot puts it: after NAME.
export const CLUSTER_HEADERS = ['NAME', 'USER', 'INFRA', 'RESOURCES', 'STATUS', 'AUTOSTOP', '$/HR', 'LAUNCHED', 'LAST JOB'];

export const CLUSTER_HEADERS_VERBOSE = [...CLUSTER_HEADERS, 'REGION', 'ZONE', 'UID', 'REASON'];

export function clusterRow(c: ClusterRecord, now = Date.now(), verbose = false): string[] {
  // Why an INIT or STOPPED cluster is so (preempted, autostopped, an agent lost): its first clause
  // here, all of it with -v and in `status -o json` (statusReason).
  const why = c.statusReason && (c.status === 'INIT' || c.status === 'STOPPED') ? c.statusReason : undefined;
  const row = [
    c.name,
    c.user ?? '-',
    c.infra,
    c.resources,
    color(c.status, clusterStatusColor(c.status)) + (why && !verbose ? ` (${why.split(/: |;/)[0]})` : ''),
    autostopText(c),
    c.hourlyPrice > 0 ? `$${c.hourlyPrice.toFixed(2)}` : '-',
    ago(c.launchedAt, now),
    c.lastJobId !== undefined ? String(c.lastJobId) : '-',
  ];
  if (verbose) row.push(c.region ?? '-', c.zone ?? '-', c.uid, c.statusReason ?? '-');
  return row;
}

export const JOB_HEADERS = ['ID', 'NAME', 'USER', 'SUBMITTED', 'STARTED', 'DURATION', 'RESOURCES', 'STATUS'];

export function jobRow(j: JobRecord, now = Date.now()): string[] {
  const end = j.endedAt ?? (j.startedAt ? now : undefined);
  return [
    String(j.id),
    j.name ?? '-',
    j.user ?? '-',
    ago(j.submittedAt, now),
    ago(j.startedAt, now),
    j.startedAt && end ? duration(end - j.startedAt) : '-',
    j.resources,
    color(j.status, jobStatusColor(j.status)),
  ];
}
