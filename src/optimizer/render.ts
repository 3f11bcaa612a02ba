// Text and JSON forms of a plan, for `launch --dryrun` (and `-o json`, `--explain`).
import type { Candidate, ConsideredRow, Plan } from './types.js';

export function infraString(c: { cloud: string; region: string; zone?: string }): string {
  if (c.cloud === 'local') return 'local';
  return [c.cloud, c.region, c.zone].filter((p) => p !== undefined && p !== '').join('/');
}

const price = (p: number) => (Number.isFinite(p) ? (p === 0 ? '0' : p < 10 ? p.toFixed(3) : p.toFixed(2)) : '-');
const num = (n: number) => (n === 0 ? '-' : Number.isInteger(n) ? String(n) : n.toFixed(1));
const accel = (c: Candidate) => (c.accelerators ? `${c.accelerators.name}:${c.accelerators.count}` : '-');

function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** One line describing the chosen candidate. */
export function describeCandidate(c: Candidate): string {
  const what = [c.instanceType, c.accelerators ? accel(c) : undefined].filter(Boolean).join(' ');
  const nodes = c.numNodes > 1 ? `${c.numNodes}x ` : '';
  const cost = c.numNodes > 1 ? `$${price(c.hourlyPrice)}/hr per node, $${price(c.totalHourlyPrice)}/hr total` : `$${price(c.hourlyPrice)}/hr`;
  const spot = c.useSpot ? ' [spot]' : '';
  const cred = c.noCredentials ? ` (no ${c.cloud} credentials here)` : c.unavailable ? ` (${c.unavailable})` : '';
  return `${nodes}${infraString(c)}${what ? ' ' + what : ''}${spot}, ${cost}${cred}`;
}

export function renderPlan(plan: Plan, opts: { explain?: boolean; maxRows?: number } = {}): string {
  const explain = opts.explain ?? false;
  const out: string[] = [];
  const name = plan.task ? ` for task '${plan.task}'` : '';
  out.push(`Chosen${name}: ${describeCandidate(plan.chosen)}`);
  const feasible = plan.considered.filter((r) => !r.excluded);
  const excluded = plan.considered.filter((r) => r.excluded);
  const max = opts.maxRows ?? (explain ? Infinity : 12);
  const shown = feasible.slice(0, max);
  const header = ['INFRA', 'INSTANCE', 'ACCELERATORS', 'vCPUs', 'Mem(GB)', '$/hr', 'CHOSEN'];
  const row = (r: ConsideredRow) => [
    infraString(r) + (r.unavailable || r.noCredentials ? ' *'  : ''),
    r.instanceType ?? (r.live ? '(live)' : '-'),
    accel(r),
    num(r.cpus),
    num(r.memoryGiB),
    price(r.totalHourlyPrice),
    r.chosen ? '✔' : '',
  ];
  out.push('', `Considered offerings (${plan.minimize === 'time' ? 'fastest' : 'cheapest'} first):`);
  out.push(table(header, shown.map(row)));
  if (feasible.length > shown.length) out.push(`... ${feasible.length - shown.length} more feasible (use --explain to list all)`);
  if (feasible.some((r) => r.noCredentials)) out.push('* no credentials for this infra here: shown for price comparison only, never chosen (see `aloft check`)');
  else if (feasible.some((r) => r.unavailable)) out.push('* this aloft cannot provision this infra yet: shown for price comparison only, never chosen');
  if (explain && excluded.length) {
    out.push('', 'Excluded offerings:');
    out.push(
      table(
        ['INFRA', 'INSTANCE', 'ACCELERATORS', 'vCPUs', 'Mem(GB)', '$/hr', 'WHY NOT'],
        excluded.map((r) => {
          const cells = row(r);
          cells[0] = r.live ? infraString(r) : r.cloud + ((r.offerings ?? 1) > 1 ? ` (${r.offerings} places)` : `/${r.region}`);
          cells[6] = r.excluded!;
          return cells;
        }),
      ),
    );
  } else if (excluded.length) {
    out.push(`${excluded.length} other offering(s) excluded (use --explain to see why)`);
  }
  if (plan.failover.length) {
    const next = plan.failover.slice(0, 3).map((c) => infraString(c) + (c.instanceType ? ` ${c.instanceType}` : ''));
    out.push('', `Failover order: ${next.join(', ')}${plan.failover.length > 3 ? `, ... (${plan.failover.length} in all)` : ''}`);
  }
  return out.join('\n');
}

export interface CandidateJson {
  infra: string;
  cloud: string;
  region: string;
  zone: string | null;
  instance_type: string | null;
  accelerators: Record<string, number> | null;
  cpus: number;
  memory_gib: number;
  use_spot: boolean;
  num_nodes: number;
  hourly_price: number;
  total_hourly_price: number;
  no_credentials?: boolean;
  /** comparison only: why this can never be chosen here */
  unavailable?: string;
  excluded?: string;
}

export function candidateToJson(c: Candidate & { excluded?: string }): CandidateJson {
  const j: CandidateJson = {
    infra: infraString(c),
    cloud: c.cloud,
    region: c.region,
    zone: c.zone ?? null,
    instance_type: c.instanceType ?? null,
    accelerators: c.accelerators ? { [c.accelerators.name]: c.accelerators.count } : null,
    cpus: c.cpus,
    memory_gib: c.memoryGiB,
    use_spot: c.useSpot,
    num_nodes: c.numNodes,
    hourly_price: c.hourlyPrice,
    total_hourly_price: c.totalHourlyPrice,
  };
  if (c.noCredentials) j.no_credentials = true;
  if (c.unavailable) j.unavailable = c.unavailable;
  if (c.excluded) j.excluded = c.excluded;
  return j;
}

export function planToJson(plan: Plan): Record<string, unknown> {
  return {
    task: plan.task ?? null,
    minimize: plan.minimize,
    chosen: candidateToJson(plan.chosen),
    ...candidateToJson(plan.chosen),
    alternatives: plan.failover.map(candidateToJson),
    considered: plan.considered.map((r) => ({ ...candidateToJson(r), chosen: r.chosen === true })),
  };
}
