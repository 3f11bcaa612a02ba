// Object → row: one pure function per record type; the STATUS colour comes from colors.ts.
import type { ClusterRecord, JobRecord, ManagedJobRecord, RequestRecord, StateEvent } from '../../protocol/model.js';
import { requestColour, statusColour } from './colors.js';
import { formatAge, formatClock, formatDollars, formatDuration } from './format.js';
import type { Column, Row } from './table.js';

// Narrow terminals: RESOURCES and LAST JOB shrink, then NODES, AUTOSTOP, $/HR, INFRA, RESOURCES,
// LAST JOB, AGE are dropped in that order; NAME and STATUS are never cut while anything can give way.
export const CLUSTER_COLUMNS: Column[] = [
  { title: 'NAME', max: 40, keep: true },
  { title: 'INFRA', max: 30, priority: 4 },
  { title: 'RESOURCES', max: 40, flex: true, priority: 5 },
  { title: 'NODES', align: 'right', priority: 1 },
  { title: 'STATUS', keep: true },
  { title: 'AUTOSTOP', priority: 2 },
  { title: '$/HR', align: 'right', priority: 3 },
  { title: 'AGE', align: 'right', priority: 7 },
  { title: 'LAST JOB', flex: true, max: 24, priority: 6 },
];

export function autostopText(c: ClusterRecord): string {
  if (!c.autostop || c.autostop.idleMinutes < 0) return '-';
  return `${c.autostop.idleMinutes}m${c.autostop.down ? ' (down)' : ''}`;
}

/** Active statuses in the order LAST JOB prefers them: work that runs beats work that waits. */
const ACTIVE_RANK: Record<string, number> = { RUNNING: 0, SETTING_UP: 1, PENDING: 2, INIT: 3 };

export interface ShownJob {
  id: number;
  job?: JobRecord;
  /** other active jobs on the cluster */
  othersActive: number;
}

/**
 * The job LAST JOB shows and `l` opens: running work first (the newest running job, else the
 * newest setting up, pending...), else the cluster's latest job.
 */
export function shownJob(c: Pick<ClusterRecord, 'lastJobId'>, active: readonly JobRecord[] | undefined, latest: JobRecord | undefined): ShownJob | undefined {
  if (active?.length) {
    let best = active[0]!;
    for (const j of active) {
      const d = (ACTIVE_RANK[j.status] ?? 9) - (ACTIVE_RANK[best.status] ?? 9);
      if (d < 0 || (d === 0 && j.id > best.id)) best = j;
    }
    return { id: best.id, job: best, othersActive: active.length - 1 };
  }
  return c.lastJobId === undefined ? undefined : { id: c.lastJobId, job: latest, othersActive: 0 };
}

/** "3 RUNNING +2", "4 SUCCEEDED", "-" */
export function lastJobText(s: ShownJob | undefined): string {
  if (!s) return '-';
  return `${s.id}${s.job ? ` ${s.job.status}` : ''}${s.othersActive ? ` +${s.othersActive}` : ''}`;
}

/** `last`: the LAST JOB cell (lastJobText) */
export function clusterRow(c: ClusterRecord, now: number, last = '-'): Row {
  return {
    key: c.name,
    cells: [
      c.name,
      c.infra,
      c.resources,
      String(c.numNodes),
      c.status,
      autostopText(c),
      c.status === 'UP' || c.status === 'INIT' ? formatDollars(c.hourlyPrice) : '-',
      formatAge(c.launchedAt, now),
      last,
    ],
    colour: statusColour(c.status),
    colourCol: 4,
    dim: c.status === 'STOPPED',
  };
}

export const JOB_COLUMNS: Column[] = [
  { title: 'ID', align: 'right' },
  { title: 'NAME', max: 30, flex: true },
  { title: 'SUBMITTED', align: 'right' },
  { title: 'DURATION', align: 'right' },
  { title: 'RESOURCES', max: 30, flex: true },
  { title: 'STATUS' },
];

/** Every cluster's jobs: the cluster next to the id (k9s's NAMESPACE column). */
export const ALL_JOB_COLUMNS: Column[] = [
  { title: 'ID', align: 'right' },
  { title: 'CLUSTER', max: 30, keep: true },
  { title: 'NAME', max: 30, flex: true, priority: 3 },
  { title: 'SUBMITTED', align: 'right', priority: 2 },
  { title: 'DURATION', align: 'right', priority: 4 },
  { title: 'RESOURCES', max: 30, flex: true, priority: 1 },
  { title: 'STATUS', keep: true },
];

export function jobDuration(j: JobRecord, now: number): string {
  if (j.startedAt === undefined) return '-';
  return formatDuration((j.endedAt ?? now) - j.startedAt);
}

/** `withCluster`: the all-jobs table (ALL_JOB_COLUMNS), keyed by cluster/id */
export function jobRow(j: JobRecord, now: number, withCluster = false): Row {
  const status = j.exitCode !== undefined && j.status.startsWith('FAILED') ? `${j.status} (${j.exitCode})` : j.status;
  const rest = [j.name ?? '-', `${formatAge(j.submittedAt, now)} ago`, jobDuration(j, now), j.resources, status];
  return {
    key: withCluster ? `${j.cluster}/${j.id}` : String(j.id),
    cells: withCluster ? [String(j.id), j.cluster, ...rest] : [String(j.id), ...rest],
    colour: statusColour(j.status),
    colourCol: withCluster ? 6 : 5,
  };
}

export const MANAGED_COLUMNS: Column[] = [
  { title: 'ID', align: 'right' },
  { title: 'NAME', max: 30, flex: true },
  { title: 'RESOURCES', max: 30, flex: true },
  { title: 'SUBMITTED', align: 'right' },
  // Long titles over short numbers: on a narrow terminal they give way before STATUS does.
  { title: 'TOT. DURATION', align: 'right', flex: true, min: 6 },
  { title: 'JOB DURATION', align: 'right', flex: true, min: 6 },
  { title: '#RECOVERIES', align: 'right', flex: true, min: 4 },
  { title: 'STATUS' },
  { title: 'CLUSTER', max: 30 },
];

/** Time spent RUNNING over every attempt, the live one included. */
export function managedJobDuration(m: ManagedJobRecord, now: number): number {
  return m.jobDurationMs + (m.runningSince !== undefined ? Math.max(0, now - m.runningSince) : 0);
}

export function managedRow(m: ManagedJobRecord, now: number): Row {
  return {
    key: String(m.id),
    cells: [
      String(m.id),
      m.name ?? '-',
      m.resources,
      `${formatAge(m.submittedAt, now)} ago`,
      formatDuration((m.endedAt ?? now) - m.submittedAt),
      formatDuration(managedJobDuration(m, now)),
      String(m.recoveries),
      m.status,
      // a finished job's cluster is torn down; naming it would send people looking for it
      m.endedAt !== undefined ? '-' : (m.cluster ?? '-'),
    ],
    colour: statusColour(m.status),
    colourCol: 7,
  };
}

/** The cluster a managed job's live attempt runs on; none while it recovers, starts or has ended. */
export function liveCluster(m: ManagedJobRecord): string | undefined {
  const last = m.attempts[m.attempts.length - 1];
  return m.endedAt === undefined && last && last.endedAt === undefined ? last.cluster : undefined;
}

/** The selected managed job in one line: why it is where it is and where it has been. */
export function managedDetail(m: ManagedJobRecord): string {
  const parts = [`${m.id}${m.name ? ` (${m.name})` : ''}`, m.failureReason ? `${m.status}: ${m.failureReason}` : m.status];
  parts.push(`${m.useSpot ? 'spot · ' : ''}${m.strategy}`);
  if (m.numTasks) {
    const i = m.taskIndex ?? 0;
    parts.push(`pipeline task ${i + 1}/${m.numTasks}${m.taskNames?.[i] ? ` (${m.taskNames[i]})` : ''}`);
  }
  if (m.maxRestartsOnErrors > 0 || m.restartsOnErrors > 0) parts.push(`restarts on errors ${m.restartsOnErrors}/${m.maxRestartsOnErrors}`);
  if (m.attempts.length) {
    const live = liveCluster(m) !== undefined;
    const trail = m.attempts.map((a, i) => `${a.cluster}${a.outcome ? ` (${a.outcome})` : live && i === m.attempts.length - 1 ? ' (live)' : ''}`);
    parts.push(`attempts ${trail.join(' → ')}`);
  }
  return parts.join(' · ');
}

export const REQUEST_COLUMNS: Column[] = [
  { title: 'ID', max: 20 },
  { title: 'KIND' },
  { title: 'CLUSTER', max: 30 },
  { title: 'STAGE', max: 24 },
  { title: 'ELAPSED', align: 'right' },
  { title: 'STATUS' },
  { title: 'AGE', align: 'right', priority: 1 },
  { title: 'REASON', flex: true },
];

export const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function requestRow(r: RequestRecord, now: number): Row {
  const running = r.status === 'RUNNING';
  const spin = SPINNER[Math.floor(now / 100) % SPINNER.length]!;
  const stage = r.stage ? (running ? `${spin} ${r.stage}` : r.stage) : running ? spin : '-';
  return {
    key: r.id,
    cells: [
      r.id,
      r.kind,
      r.cluster,
      stage,
      formatDuration((r.finishedAt ?? now) - r.createdAt),
      r.status,
      formatAge(r.createdAt, now),
      r.error ? r.error.split('\n')[0]! : '',
    ],
    colour: requestColour(r.status),
    colourCol: 5,
  };
}

export const EVENT_COLUMNS: Column[] = [
  { title: 'TIME' },
  { title: 'KIND' },
  { title: 'OBJECT', max: 34 },
  { title: 'WHAT', flex: true },
];

/** A one-line description of a change; undefined for kinds the timeline does not show. */
export function eventRow(e: StateEvent): Row {
  const time = formatClock(e.ts);
  switch (e.kind) {
    case 'cluster': {
      const c = e.cluster!;
      return { key: String(e.seq), cells: [time, 'cluster', c.name, describeCluster(c)], colour: statusColour(c.status), colourCol: 3 };
    }
    case 'cluster-removed':
      return { key: String(e.seq), cells: [time, 'cluster', e.name ?? '?', e.message ?? 'removed'], colour: 'gray', colourCol: 3 };
    case 'job': {
      const j = e.job!;
      const what = j.exitCode !== undefined && j.status !== 'SUCCEEDED' ? `${j.status} (exit ${j.exitCode})` : j.status;
      return { key: String(e.seq), cells: [time, 'job', `${j.cluster}/${j.id}`, what], colour: statusColour(j.status), colourCol: 3 };
    }
    case 'request': {
      const r = e.request!;
      const what = r.status === 'RUNNING' ? `${r.kind} ${r.stage ?? 'started'}` : `${r.kind} ${r.status}${r.error ? `: ${r.error.split('\n')[0]}` : ''}`;
      return { key: String(e.seq), cells: [time, 'request', r.cluster, what], colour: requestColour(r.status), colourCol: 3 };
    }
    case 'managed': {
      const m = e.managed!;
      let what: string = m.status;
      if (m.recoveries > 0 && (m.status === 'RECOVERING' || m.status === 'RUNNING')) what += ` (recovery ${m.recoveries})`;
      const on = liveCluster(m);
      if (on) what += ` on ${on}`;
      if (m.failureReason) what += `: ${m.failureReason}`;
      return {
        key: String(e.seq),
        cells: [time, 'managed', `${m.id}${m.name ? ` (${m.name})` : ''}`, what],
        colour: statusColour(m.status),
        colourCol: 3,
      };
    }
    case 'service': {
      const x = e.service!;
      const what = `${x.status}${x.statusReason ? `: ${x.statusReason}` : ''} · version ${x.version}`;
      return { key: String(e.seq), cells: [time, 'service', x.name, what], colour: statusColour(x.status), colourCol: 3 };
    }
    case 'service-removed':
      return { key: String(e.seq), cells: [time, 'service', e.name ?? '?', e.message ?? 'removed'], colour: 'gray', colourCol: 3 };
    case 'notice':
    default:
      return {
        key: String(e.seq),
        cells: [time, 'notice', e.name ?? '-', e.message ?? ''],
        colour: statusColour(e.level ?? 'info'),
        colourCol: 3,
      };
  }
}

function describeCluster(c: ClusterRecord): string {
  return c.statusReason ? `${c.status}: ${c.statusReason}` : c.status;
}
