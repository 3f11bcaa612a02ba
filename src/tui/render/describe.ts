// A Description as the lines of a describe page (k9s's describe: "Key: value" blocks, tables for
// nodes and jobs, then the task and the events). Pure: object → lines.
import type { Description } from '../../protocol/api.js';
import type { ClusterRecord, JobRecord, ManagedJobRecord, RequestRecord, StateEvent } from '../../protocol/model.js';
import { taskToYaml } from '../../spec/to-yaml.js';
import { autostopText, eventRow, jobDuration, jobRow, JOB_COLUMNS } from './rows.js';
import { formatAge, formatDollars, formatDuration } from './format.js';
import { plainTable } from './table.js';

const KEY_WIDTH = 16;
const when = (ts: number | undefined, now: number) => (ts ? `${new Date(ts).toISOString().replace('T', ' ').slice(0, 19)} (${formatAge(ts, now)} ago)` : '-');

function fields(pairs: Array<[string, string | number | undefined | null | false]>): string[] {
  return pairs.filter(([, v]) => v !== undefined && v !== null && v !== false && v !== '').map(([k, v]) => `${`${k}:`.padEnd(KEY_WIDTH)}${v}`);
}

function section(title: string, body: string[]): string[] {
  return body.length ? ['', `${title}:`, ...body.map((l) => `  ${l}`)] : [];
}

function clusterFields(c: ClusterRecord, now: number): string[] {
  return fields([
    ['Name', c.name],
    ['Status', c.statusReason ? `${c.status} (${c.statusReason})` : c.status],
    ['Infra', c.infra],
    ['Region', c.region],
    ['Zone', c.zone],
    ['Instance type', c.instanceType],
    ['Resources', c.resources],
    ['Node resources', c.nodeResources ? `cpus=${c.nodeResources.cpus}, mem=${c.nodeResources.memoryGiB}GiB${Object.entries(c.nodeResources.accelerators).map(([k, n]) => `, ${k}:${n}`).join('')}` : undefined],
    ['Nodes', c.numNodes],
    ['Spot', c.useSpot ? 'yes' : 'no'],
    ['Price', c.hourlyPrice ? `${formatDollars(c.hourlyPrice)}/hr` : undefined],
    ['Autostop', autostopText(c) === '-' ? 'off' : autostopText(c)],
    ['Launched', when(c.launchedAt, now)],
    ['Updated', when(c.updatedAt, now)],
    ['Last job', c.lastJobId],
    ['UID', c.uid],
  ]);
}

function jobFields(j: JobRecord, now: number): string[] {
  return fields([
    ['Job', `${j.id}${j.name ? ` (${j.name})` : ''}`],
    ['Cluster', j.cluster],
    ['Status', j.exitCode !== undefined ? `${j.status} (exit ${j.exitCode})` : j.status],
    ['Failed rank', j.failedRank],
    ['Nodes', j.numNodes],
    ['Resources', j.resources],
    ['Demand', `${j.demand.cpus} CPU${j.demand.gpus ? `, ${j.demand.gpus} ${j.demand.accelerator ?? 'GPU'}` : ''} per node`],
    ['Submitted', when(j.submittedAt, now)],
    ['Started', j.startedAt ? when(j.startedAt, now) : undefined],
    ['Ended', j.endedAt ? when(j.endedAt, now) : undefined],
    ['Duration', jobDuration(j, now)],
    ['Secrets', j.secretNames?.length ? `${j.secretNames.join(', ')} (values never stored)` : undefined],
    ['Task id', j.taskId],
  ]);
}

function managedFields(m: ManagedJobRecord, now: number): string[] {
  return [
    ...fields([
      ['Managed job', `${m.id}${m.name ? ` (${m.name})` : ''}`],
      ['Status', m.failureReason ? `${m.status}: ${m.failureReason}` : m.status],
      ['Resources', m.resources],
      ['Strategy', m.strategy],
      ['Spot', m.useSpot ? 'yes' : 'no'],
      ['Recoveries', m.recoveries],
      ['Restarts', m.maxRestartsOnErrors || m.restartsOnErrors ? `${m.restartsOnErrors}/${m.maxRestartsOnErrors} on errors${m.recoverOnExitCodes.length ? ` (exit codes ${m.recoverOnExitCodes.join(', ')})` : ''}` : undefined],
      ['Cluster', m.cluster],
      ['Submitted', when(m.submittedAt, now)],
      ['Started', m.startedAt ? when(m.startedAt, now) : undefined],
      ['Ended', m.endedAt ? when(m.endedAt, now) : undefined],
      ['Blocked regions', m.blockedRegions.length ? m.blockedRegions.join(', ') : undefined],
      ['Task id', m.taskId],
    ]),
    ...section(
      'Attempts',
      m.attempts.map(
        (a, i) =>
          `${i + 1}. ${a.cluster}${a.region ? ` (${a.region})` : ''}${a.jobId !== undefined ? ` job ${a.jobId}` : ''}: ${when(a.startedAt, now)}${a.endedAt ? ` → ${formatDuration(a.endedAt - a.startedAt)}` : ''}${a.outcome ? `, ${a.outcome}` : a.endedAt === undefined ? ', live' : ''}`,
      ),
    ),
  ];
}

function requestFields(r: RequestRecord, now: number): string[] {
  return fields([
    ['Request', r.id],
    ['Kind', r.kind],
    ['Cluster', r.cluster],
    ['Status', r.status],
    ['Stage', r.stage],
    ['Created', when(r.createdAt, now)],
    ['Finished', r.finishedAt ? when(r.finishedAt, now) : undefined],
    ['Elapsed', formatDuration((r.finishedAt ?? now) - r.createdAt)],
    ['Job', r.jobId],
    ['Created cluster', r.createdCluster ? 'yes' : undefined],
    ['Error', r.error?.split('\n')[0]],
  ]);
}

/** Which object an event is about, and what about it a timeline line shows. */
function identity(e: StateEvent): [string, string | undefined] {
  if (e.cluster) return [e.cluster.name, e.cluster.status];
  if (e.job) return [`${e.job.clusterUid}/${e.job.id}`, e.job.status];
  if (e.request) return [e.request.id, `${e.request.status}/${e.request.stage ?? ''}`];
  if (e.managed) return [String(e.managed.id), `${e.managed.status}/${e.managed.recoveries}`];
  return [String(e.seq), undefined];
}

function eventLines(events: readonly StateEvent[]): string[] {
  // state changes worth a line: a record whose status did not move since the last line is noise
  const last = new Map<string, string>();
  const out: string[] = [];
  for (const e of events) {
    const [id, sig] = identity(e);
    if (sig !== undefined && last.get(`${e.kind}:${id}`) === sig) continue;
    if (sig !== undefined) last.set(`${e.kind}:${id}`, sig);
    const [time, kind, object, what] = eventRow(e).cells;
    out.push(`${time}  ${kind!.padEnd(8)} ${object}: ${what}`);
  }
  return out;
}

/** The describe page. `now` for ages; nothing in it is a secret (the daemon redacts tasks). */
export function describeLines(d: Description, now: number): string[] {
  const lines: string[] = [];
  if (d.managed) lines.push(...managedFields(d.managed, now));
  if (d.request) lines.push(...requestFields(d.request, now));
  if (d.job) lines.push(...jobFields(d.job, now));
  if (d.cluster) {
    if (lines.length) lines.push(...section('Cluster', clusterFields(d.cluster, now)));
    else lines.push(...clusterFields(d.cluster, now));
  }
  if (d.nodes?.length) {
    const rows = d.nodes.map((n) => ({ key: String(n.rank), cells: [String(n.rank), n.ip, n.status, n.instanceId, n.nodeDir, n.ssh ?? '-'] }));
    const cols = [{ title: 'RANK' }, { title: 'ADDRESS' }, { title: 'STATUS' }, { title: 'INSTANCE' }, { title: 'NODE DIR' }, { title: 'SSH' }];
    lines.push(...section('Nodes', plainTable(cols, rows, 400).split('\n')));
  }
  lines.push(...section('Endpoints', [...(d.agentEndpoint ? [`agent: ${d.agentEndpoint}`] : []), ...(d.endpoints ?? []).map((e) => `port: ${e}`)]));
  if (d.logPath) lines.push(...section('Log', [`archived at ${d.logPath}`]));
  if (d.jobs?.length) lines.push(...section('Jobs', plainTable(JOB_COLUMNS, d.jobs.map((j) => jobRow(j, now)), 400).split('\n')));
  if (d.task) lines.push(...section('Task (as submitted; secret values are never stored)', taskToYaml(d.task).trimEnd().split('\n')));
  else lines.push('', 'Task: not recorded (submitted before this daemon kept tasks, or none: a bare launch)');
  lines.push(...section('Events', eventLines(d.events)));
  if (!d.events.length) lines.push('', 'Events: none in the recent event log');
  return lines;
}
