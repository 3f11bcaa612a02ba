// General DAGs: an ILP (javascript-lp-solver) chooses one location per task, minimizing compute
// plus egress along edges. That solver ignores its own timeout, so it runs in a worker thread that
// is terminated at a hard deadline; a greedy placement with local improvement answers instead.
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { Task } from '../spec/types.js';
import { UserError } from '../util/errors.js';
import { assemble, egressPerGB, gbOf, hoursOf, locations, planEach, type PipelineOptions, type PipelinePlan, solveChain } from './chain.js';
import type { Candidate, OptimizeContext, Plan } from './types.js';

export interface TaskDag {
  tasks: Task[];
  /** [from, to] indexes into tasks: `to` consumes `from`'s output */
  edges: Array<[number, number]>;
}

export interface DagOptions extends PipelineOptions {
  /** hard limit for the ILP, after which the fallback answers (default 800 ms) */
  deadlineMs?: number;
  /** skip the ILP (used by tests of the fallback) */
  noIlp?: boolean;
}

interface LpModel {
  optimize: string;
  opType: 'min';
  constraints: Record<string, { equal?: number; min?: number; max?: number }>;
  variables: Record<string, Record<string, number>>;
  binaries: Record<string, 1>;
}

// Written to run as either CommonJS or ESM: an eval'd worker follows the parent's --input-type.
const WORKER_SOURCE = `
import('node:worker_threads').then(async ({ parentPort, workerData }) => {
  const m = await import(workerData.solverUrl);
  const solver = m.default ?? m;
  parentPort.postMessage(solver.Solve(workerData.model));
});
`;

function topoOrder(n: number, edges: Array<[number, number]>): number[] {
  const indeg = new Array(n).fill(0);
  const out: number[][] = Array.from({ length: n }, () => []);
  for (const [u, v] of edges) {
    if (u < 0 || v < 0 || u >= n || v >= n) throw new UserError(`DAG edge ${u}->${v} names a task that does not exist`);
    out[u]!.push(v);
    indeg[v]++;
  }
  const q = indeg.map((d, i) => (d === 0 ? i : -1)).filter((i) => i >= 0);
  const order: number[] = [];
  while (q.length) {
    const u = q.shift()!;
    order.push(u);
    for (const v of out[u]!) if (--indeg[v] === 0) q.push(v);
  }
  if (order.length !== n) throw new UserError('the task graph has a cycle');
  return order;
}

function isChain(n: number, edges: Array<[number, number]>): boolean {
  return edges.length === n - 1 && edges.every(([u, v], i) => u === i && v === i + 1);
}

export function buildModel(locs: Candidate[][], edges: Array<[number, number]>, opts: PipelineOptions): LpModel {
  const model: LpModel = { optimize: 'cost', opType: 'min', constraints: {}, variables: {}, binaries: {} };
  locs.forEach((list, t) => {
    model.constraints[`t${t}`] = { equal: 1 };
    list.forEach((c, i) => {
      const name = `x${t}_${i}`;
      model.variables[name] = { cost: c.totalHourlyPrice * hoursOf(opts, t), [`t${t}`]: 1 };
      model.binaries[name] = 1;
    });
  });
  // Egress with the edge's joint choice y[e,i,j] tied to both ends (marginal constraints): tight for
  // trees, so the relaxation is usually integral and branch-and-bound stays short.
  edges.forEach(([u, v], e) => {
    const gb = gbOf(opts, u, v);
    if (gb <= 0) return;
    const lu = locs[u]!;
    const lv = locs[v]!;
    if (lu.every((a) => lv.every((b) => egressPerGB(a, b) === 0))) return;
    lu.forEach((_, i) => {
      model.constraints[`e${e}u${i}`] = { equal: 0 };
      model.variables[`x${u}_${i}`]![`e${e}u${i}`] = -1;
    });
    lv.forEach((_, j) => {
      model.constraints[`e${e}v${j}`] = { equal: 0 };
      model.variables[`x${v}_${j}`]![`e${e}v${j}`] = -1;
    });
    lu.forEach((a, i) =>
      lv.forEach((b, j) => {
        model.variables[`y${e}_${i}_${j}`] = { cost: gb * egressPerGB(a, b), [`e${e}u${i}`]: 1, [`e${e}v${j}`]: 1 };
      }),
    );
  });
  return model;
}

function solveInWorker(model: LpModel, deadlineMs: number): Promise<Record<string, number> | 'timeout' | 'infeasible'> {
  const solverUrl = pathToFileURL(createRequire(import.meta.url).resolve('javascript-lp-solver')).href;
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { solverUrl, model } });
    const timer = setTimeout(() => {
      void worker.terminate();
      resolve('timeout');
    }, deadlineMs);
    worker.once('message', (r: Record<string, number> & { feasible?: boolean }) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(r.feasible ? r : 'infeasible');
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Greedy in topological order, then rounds of single-task moves until nothing improves. */
export function greedyPlacement(locs: Candidate[][], edges: Array<[number, number]>, opts: PipelineOptions): number[] {
  const n = locs.length;
  const order = topoOrder(n, edges);
  const nbrs: Array<Array<[number, boolean]>> = Array.from({ length: n }, () => []);
  for (const [u, v] of edges) {
    nbrs[u]!.push([v, true]);
    nbrs[v]!.push([u, false]);
  }
  const pick: number[] = new Array(n).fill(-1);
  const local = (t: number, i: number) => {
    const c = locs[t]![i]!;
    let cost = c.totalHourlyPrice * hoursOf(opts, t);
    for (const [o, outgoing] of nbrs[t]!) {
      if (pick[o]! < 0) continue;
      const other = locs[o]![pick[o]!]!;
      cost += outgoing ? gbOf(opts, t, o) * egressPerGB(c, other) : gbOf(opts, o, t) * egressPerGB(other, c);
    }
    return cost;
  };
  const bestFor = (t: number) => {
    let bi = 0;
    let bv = Infinity;
    locs[t]!.forEach((_, i) => {
      const v = local(t, i);
      if (v < bv - 1e-12) {
        bv = v;
        bi = i;
      }
    });
    return bi;
  };
  for (const t of order) pick[t] = bestFor(t);
  for (let round = 0; round < 20; round++) {
    let changed = false;
    for (const t of order) {
      const b = bestFor(t);
      if (local(t, b) < local(t, pick[t]!) - 1e-9) {
        pick[t] = b;
        changed = true;
      }
    }
    if (!changed) break;
  }
  return pick;
}

/** Places every task of a DAG; resolves within about `deadlineMs` whatever the solver does. */
export async function planDag(dag: TaskDag, ctx: OptimizeContext, opts: DagOptions = {}): Promise<PipelinePlan> {
  const plans = planEach(dag.tasks, ctx);
  return solveDag(plans, dag.edges, opts);
}

export async function solveDag(plans: Plan[], edges: Array<[number, number]>, opts: DagOptions = {}): Promise<PipelinePlan> {
  const n = plans.length;
  topoOrder(n, edges);
  if (n <= 1) return { ...assemble(plans, plans.map((p) => [p.chosen]), plans.map(() => 0), opts, 'single', edges) };
  if (isChain(n, edges)) return solveChain(plans, opts);
  const locs = plans.map((p) => locations(p, opts.maxLocationsPerTask ?? 6));
  const fallback = (timedOut: boolean): PipelinePlan => ({
    ...assemble(plans, locs, greedyPlacement(locs, edges, opts), opts, 'greedy', edges),
    ...(timedOut ? { timedOut } : {}),
  });
  const model = buildModel(locs, edges, opts);
  // Without any egress term every task simply takes its own cheapest location.
  if (!Object.keys(model.variables).some((k) => k.startsWith('y'))) {
    return assemble(plans, locs, plans.map(() => 0), opts, 'ilp', edges);
  }
  if (opts.noIlp) return fallback(false);
  let r: Awaited<ReturnType<typeof solveInWorker>>;
  try {
    r = await solveInWorker(model, opts.deadlineMs ?? 800);
  } catch (e) {
    if (process.env.ALOFT_DEBUG) process.stderr.write(`ILP worker failed: ${String(e)}\n`);
    return fallback(false);
  }
  if (process.env.ALOFT_DEBUG && typeof r === 'string') process.stderr.write(`ILP: ${r}\n`);
  if (r === 'timeout') return fallback(true);
  if (r === 'infeasible') return fallback(false);
  const values = r;
  const pick = locs.map((list, t) => {
    let bi = 0;
    list.forEach((_, i) => {
      if ((values[`x${t}_${i}`] ?? 0) > (values[`x${t}_${bi}`] ?? 0)) bi = i;
    });
    return bi;
  });
  const ilp = assemble(plans, locs, pick, opts, 'ilp', edges);
  // A rounding slip in the solver must never make the answer worse than the fallback's.
  const greedy = fallback(false);
  return greedy.totalCost < ilp.totalCost - 1e-9 ? greedy : ilp;
}
