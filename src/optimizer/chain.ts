// Pipelines: a chain of tasks (multi-document YAML) is placed by dynamic programming over each
// task's locations, paying egress when consecutive tasks sit in different regions or clouds.
import type { Task, TaskChain } from '../spec/types.js';
import { planInputs, planTask } from './plan.js';
import type { Candidate, OptimizeContext, Plan } from './types.js';

/** $/GB to move data from one place to another (list prices of internet/inter-region egress). */
export function egressPerGB(from: { cloud: string; region: string }, to: { cloud: string; region: string }): number {
  if (from.cloud === to.cloud && from.region === to.region) return 0;
  // Data leaving local machines, ssh pools and kubernetes is not billed by a cloud.
  const outOf: Record<string, [number, number]> = { aws: [0.02, 0.09], gcp: [0.02, 0.12], azure: [0.02, 0.0875] };
  const p = outOf[from.cloud];
  if (!p) return 0;
  return from.cloud === to.cloud ? p[0] : p[1];
}

export interface PipelineOptions {
  /** GB passed along each edge (a number for all, or per edge "from->to" index pair) */
  egressGigabytes?: number | ((from: number, to: number) => number);
  /** locations (cloud/region) kept per task for the search (default 12) */
  maxLocationsPerTask?: number;
  /** hours each task runs, to weigh compute against egress (default 1) */
  hours?: number | ((task: number) => number);
}

export interface PipelinePlan {
  plans: Plan[];
  /** compute $ (hourly x hours) + egress $ of the chosen placement */
  totalCost: number;
  egressCost: number;
  method: 'dp' | 'ilp' | 'greedy' | 'single';
  /** the ILP hit its deadline and the fallback answered */
  timedOut?: boolean;
}

/** Best candidate per (cloud, region) of a plan, cheapest first, at most `max`. */
export function locations(plan: Plan, max: number): Candidate[] {
  const seen = new Map<string, Candidate>();
  for (const c of [plan.chosen, ...plan.failover]) {
    const k = `${c.cloud}\0${c.region}`;
    if (!seen.has(k)) seen.set(k, c);
  }
  return [...seen.values()].slice(0, max);
}

export const gbOf = (opts: PipelineOptions, from: number, to: number): number =>
  typeof opts.egressGigabytes === 'function' ? opts.egressGigabytes(from, to) : (opts.egressGigabytes ?? 0);
export const hoursOf = (opts: PipelineOptions, t: number): number =>
  typeof opts.hours === 'function' ? opts.hours(t) : (opts.hours ?? 1);

/** Puts `c` first: the rest of its region's zones next, then the others in their order. */
export function replan(plan: Plan, c: Candidate): Plan {
  if (c === plan.chosen) return plan;
  const all = [plan.chosen, ...plan.failover].filter((x) => x !== c);
  const same = all.filter((x) => x.cloud === c.cloud && x.region === c.region);
  const other = all.filter((x) => !(x.cloud === c.cloud && x.region === c.region));
  const considered = plan.considered.map((r) => ({ ...r, chosen: false }));
  return { ...plan, chosen: c, failover: [...same, ...other], considered };
}

export function planEach(tasks: Task[], ctx: OptimizeContext): Plan[] {
  const inputs = planInputs(ctx);
  return tasks.map((t) => planTask(t, ctx, inputs));
}

/** Places a chain: DP over (task, location), exact for the cost model above. */
export function planChain(chain: TaskChain | Task[], ctx: OptimizeContext, opts: PipelineOptions = {}): PipelinePlan {
  const tasks = Array.isArray(chain) ? chain : chain.tasks;
  const plans = planEach(tasks, ctx);
  return solveChain(plans, opts);
}

/** The DP itself, on plans already made (also the fallback for a DAG that is a chain). */
export function solveChain(plans: Plan[], opts: PipelineOptions = {}): PipelinePlan {
  const max = opts.maxLocationsPerTask ?? 12;
  const locs = plans.map((p) => locations(p, max));
  const n = plans.length;
  if (n === 0) return { plans: [], totalCost: 0, egressCost: 0, method: 'dp' };
  const compute = (t: number, c: Candidate) => c.totalHourlyPrice * hoursOf(opts, t);
  let best = locs[0]!.map((c) => compute(0, c));
  const back: number[][] = [];
  for (let t = 1; t < n; t++) {
    const gb = gbOf(opts, t - 1, t);
    const next: number[] = [];
    const from: number[] = [];
    for (const c of locs[t]!) {
      let bv = Infinity;
      let bi = 0;
      locs[t - 1]!.forEach((p, i) => {
        const v = best[i]! + gb * egressPerGB(p, c);
        if (v < bv - 1e-12) {
          bv = v;
          bi = i;
        }
      });
      next.push(bv + compute(t, c));
      from.push(bi);
    }
    back.push(from);
    best = next;
  }
  let k = 0;
  best.forEach((v, i) => {
    if (v < best[k]! - 1e-12) k = i;
  });
  const pick: number[] = new Array(n);
  pick[n - 1] = k;
  for (let t = n - 1; t > 0; t--) pick[t - 1] = back[t - 1]![pick[t]!]!;
  return assemble(plans, locs, pick, opts, 'dp');
}

export function assemble(plans: Plan[], locs: Candidate[][], pick: number[], opts: PipelineOptions, method: PipelinePlan['method'], edges?: Array<[number, number]>): PipelinePlan {
  const chosen = pick.map((k, t) => locs[t]![k]!);
  let compute = 0;
  chosen.forEach((c, t) => (compute += c.totalHourlyPrice * hoursOf(opts, t)));
  const es = edges ?? plans.slice(1).map((_, i) => [i, i + 1] as [number, number]);
  let egress = 0;
  for (const [u, v] of es) egress += gbOf(opts, u, v) * egressPerGB(chosen[u]!, chosen[v]!);
  const round = (x: number) => Math.round(x * 1e6) / 1e6;
  return {
    plans: plans.map((p, t) => replan(p, chosen[t]!)),
    totalCost: round(compute + egress),
    egressCost: round(egress),
    method,
  };
}

/** Total cost of a placement (for tests and the brute-force check). */
export function placementCost(chosen: Candidate[], opts: PipelineOptions, edges: Array<[number, number]>): number {
  let cost = 0;
  chosen.forEach((c, t) => (cost += c.totalHourlyPrice * hoursOf(opts, t)));
  for (const [u, v] of edges) cost += gbOf(opts, u, v) * egressPerGB(chosen[u]!, chosen[v]!);
  return cost;
}

