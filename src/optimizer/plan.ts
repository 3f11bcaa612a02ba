// Single-task planning: every offering is checked against each resources candidate; the feasible
// ones become a failover order (zones of a region, then the next region or cloud by price).
import type { ResourcesSpec, Task } from '../spec/types.js';
import { type Catalog, type Offering, loadCatalog } from '../catalog/catalog.js';
import type { AcceleratorMatcher } from '../catalog/accelerators.js';
import { UserError } from '../util/errors.js';
import { check, liveAcceleratorFor, liveToOffering, makeRequest, pool, type Request } from './filter.js';
import { describeRequest, infeasibleMessage, stageOf } from './infeasible.js';
import type { Candidate, ConsideredRow, OptimizeContext, Plan } from './types.js';

export { describeRequest };

export class InfeasibleError extends UserError {
  constructor(message: string) {
    super(message, 'INFEASIBLE');
  }
}

// Rough relative training throughput per device, for `minimize: time` (A100 = 1).
const SPEED: Record<string, number> = {
  B200: 5, GB200: 5.5, H200: 3.4, H100: 3, 'H100-MEGA': 3, 'H100-NVL': 2.8, GH200: 3.2, MI355X: 4.5, MI325X: 3.4,
  MI300X: 3, 'A100-80GB': 1.2, A100: 1, L40S: 0.9, L40: 0.8, A10G: 0.45, A10: 0.45, L4: 0.35, V100: 0.5, T4: 0.15,
  P100: 0.25, P4: 0.1, Trainium: 0.8, Inferentia2: 0.4, MI250X: 1.1, MI250: 1, MI210: 0.6,
};

/** Relative run time of a candidate (lower is faster). */
function timeScore(c: Candidate): number {
  const per = c.accelerators ? (SPEED[c.accelerators.name] ?? 0.3) * c.accelerators.count * 100 : c.cpus || 1;
  return 1 / (per * c.numNodes);
}

function toCandidate(req: Request, o: Offering, matcher: AcceleratorMatcher | undefined, price: number, noCredentials: boolean, mark: { unavailable?: string } = {}): Candidate {
  const accCount = o.live ? matcher?.count : o.acceleratorCount;
  let accName = o.accelerator;
  if (o.live && matcher) {
    accName = liveAcceleratorFor(matcher, o) ?? Object.keys(o.accelerators ?? {})[0];
  }
  const accelerators = accName && accCount ? { name: accName, count: accCount } : undefined;
  const c: Candidate = {
    cloud: o.cloud,
    region: o.region,
    zone: o.zone,
    instanceType: o.instanceType,
    accelerators,
    cpus: o.cpus,
    memoryGiB: o.memoryGiB,
    useSpot: req.rs.useSpot,
    hourlyPrice: price,
    totalHourlyPrice: Math.round(price * req.numNodes * 1e6) / 1e6,
    numNodes: req.numNodes,
    resources: {
      ...req.rs,
      infra: { cloud: o.cloud, region: o.region, zone: o.zone },
      // (a live node keeps the type the task named: the plan says it ignores it)
      instanceType: o.live ? req.rs.instanceType : o.instanceType,
      accelerators: accelerators ? [accelerators] : undefined,
    },
  };
  if (noCredentials) c.noCredentials = true;
  if (o.live) c.live = true;
  if (mark.unavailable) c.unavailable = mark.unavailable;
  return c;
}

interface Evaluated {
  /** best candidate per zone (or per live pool) */
  perZone: Candidate[];
  considered: ConsideredRow[];
}

/** A feasible offering before it is turned into a Candidate (most never are: only per-zone winners). */
interface Lite {
  o: Offering;
  matcher?: AcceleratorMatcher;
  price: number;
  total: number;
  time: number;
  noCredentials: boolean;
  unavailable?: string;
}

function liteTime(o: Offering, m: AcceleratorMatcher | undefined, numNodes: number): number {
  const name = o.live ? (m ? liveAcceleratorFor(m, o) : o.accelerator) : o.accelerator;
  const count = o.live ? (m?.count ?? 0) : o.acceleratorCount;
  const per = name && count ? (SPEED[name] ?? 0.3) * count * 100 : o.cpus || 1;
  return 1 / (per * numNodes);
}

/** Plain code-unit order: deterministic and much faster than localeCompare in hot loops. */
const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function liteCmp(minimize: 'cost' | 'time') {
  return (a: Lite, b: Lite): number => {
    if (minimize === 'time' && Math.abs(a.time - b.time) > 1e-12) return a.time - b.time;
    return (
      a.total - b.total ||
      cmpStr(a.o.cloud, b.o.cloud) ||
      cmpStr(a.o.region, b.o.region) ||
      cmpStr(a.o.zone ?? '', b.o.zone ?? '') ||
      cmpStr(a.o.instanceType ?? '', b.o.instanceType ?? '')
    );
  };
}

function evaluate(req: Request, catalog: Catalog, live: Offering[], minimize: 'cost' | 'time'): Evaluated {
  const cmp = liteCmp(minimize);
  const perZone = new Map<string, Lite>();
  // Considered table: one row per (cloud, shape): the best feasible place, or the main exclusion.
  const shapes = new Map<string, { best?: Lite; n: number; reasons: Map<string, { n: number; o: Offering }> }>();
  for (const o of pool(req, catalog, live)) {
    const v = check(req, o);
    const shapeKey = (o.shapeKey ??= o.live ? `${o.cloud}\0${o.region}` : `${o.cloud}\0${o.instanceType ?? ''}\0${o.accelerator ?? ''}:${o.acceleratorCount}`);
    let shape = shapes.get(shapeKey);
    if (!shape) shapes.set(shapeKey, (shape = { n: 0, reasons: new Map() }));
    shape.n++;
    if (v.reason !== undefined) {
      const r = shape.reasons.get(v.reason);
      if (r) r.n++;
      else shape.reasons.set(v.reason, { n: 1, o });
      continue;
    }
    const price = v.price!;
    const total = price * req.numNodes;
    const zoneKey = (o.zoneKey ??= o.zone === undefined ? `${o.cloud}\0${o.region}` : `${o.cloud}\0${o.region}\0${o.zone}`);
    const cur = perZone.get(zoneKey);
    // Most offerings lose on price alone: skip building anything for them.
    if (minimize === 'cost' && cur && total > cur.total && shape.best && total > shape.best.total) continue;
    const lite: Lite = {
      o,
      matcher: v.matcher,
      price,
      total,
      time: minimize === 'time' ? liteTime(o, v.matcher, req.numNodes) : 0,
      noCredentials: v.noCredentials === true,
      unavailable: v.unavailable,
    };
    if (!cur || cmp(lite, cur) < 0) perZone.set(zoneKey, lite);
    if (!shape.best || cmp(lite, shape.best) < 0) shape.best = lite;
  }
  const make = (l: Lite) => toCandidate(req, l.o, l.matcher, l.price, l.noCredentials, l);
  const considered: ConsideredRow[] = [];
  for (const s of shapes.values()) {
    if (s.best) {
      const row: ConsideredRow = { ...make(s.best), offerings: s.n };
      // Outside a dry run, an offering that can never be chosen is just excluded, with the reason.
      if (row.unavailable && !req.dryrun) {
        row.excluded = row.unavailable;
        delete row.unavailable;
        delete row.noCredentials;
      }
      considered.push(row);
      continue;
    }
    let top: { reason: string; n: number; o: Offering; stage: number } | undefined;
    for (const [reason, r] of s.reasons) {
      const stage = stageOf(reason);
      if (!top || stage > top.stage || (stage === top.stage && r.n > top.n)) top = { reason, n: r.n, o: r.o, stage };
    }
    if (!top) continue;
    const o = top.o;
    const price = (req.rs.useSpot ? o.spotPrice : o.price) ?? NaN;
    const row = toCandidate(req, o, undefined, price, false) as ConsideredRow;
    row.excluded = top.reason;
    row.offerings = s.n;
    considered.push(row);
  }
  return { perZone: [...perZone.values()].map(make), considered };
}

const cmpName = (a: Candidate, b: Candidate) =>
  cmpStr(a.cloud, b.cloud) || cmpStr(a.region, b.region) || cmpStr(a.zone ?? '', b.zone ?? '');

/** Candidate order: objective, then price, then names (deterministic). */
export function compareCandidates(minimize: 'cost' | 'time') {
  return (a: Candidate, b: Candidate): number => {
    if (minimize === 'time') {
      const d = timeScore(a) - timeScore(b);
      if (Math.abs(d) > 1e-12) return d;
    }
    return a.totalHourlyPrice - b.totalHourlyPrice || cmpName(a, b) || cmpStr(a.instanceType ?? '', b.instanceType ?? '');
  };
}

/** Orders zone candidates: the best region first with its zones, then the next region or cloud. */
function failoverOrder(perZone: Iterable<Candidate>, cmp: (a: Candidate, b: Candidate) => number): Candidate[] {
  const regions = new Map<string, Candidate[]>();
  for (const c of perZone) {
    const k = `${c.cloud}\0${c.region}`;
    let list = regions.get(k);
    if (!list) regions.set(k, (list = []));
    list.push(c);
  }
  const groups = [...regions.values()].map((list) => list.sort(cmp));
  groups.sort((a, b) => cmp(a[0]!, b[0]!));
  return groups.flat();
}

const emptyCatalog: Catalog = { clouds: [], offerings: [], byAccelerator: new Map(), sources: {} };

/** Shared work of planTask/planChain: the catalog and live offerings, converted once. */
export function planInputs(ctx: OptimizeContext): { catalog: Catalog; live: Offering[] } {
  let catalog = ctx.catalog;
  if (!catalog) {
    try {
      catalog = loadCatalog();
    } catch (e) {
      if (e instanceof UserError) throw e;
      catalog = emptyCatalog;
    }
  }
  return { catalog, live: ctx.liveOfferings.map(liveToOffering) };
}

/** Plans one task: the cheapest (or fastest) feasible candidate and the failover order behind it. */
export function planTask(task: Task, ctx: OptimizeContext, inputs = planInputs(ctx)): Plan {
  const minimize = ctx.minimize ?? 'cost';
  const cmp = compareCandidates(minimize);
  const { catalog, live } = inputs;
  const choice = task.resources;
  const specs = choice.candidates.length ? choice.candidates : [defaultSpec()];
  const considered: ConsideredRow[] = [];
  const ordered: Candidate[][] = [];
  const reqs: Request[] = [];
  const rowsPerSpec: ConsideredRow[][] = [];
  // Fits, but never chosen here (no credentials, not provisionable): price hints only.
  const elsewhere: Candidate[] = [];
  for (const rs of specs) {
    const req = makeRequest(rs, task.numNodes, ctx);
    const ev = evaluate(req, catalog, live, minimize);
    considered.push(...ev.considered);
    reqs.push(req);
    rowsPerSpec.push(ev.considered);
    for (const c of ev.perZone) if (c.unavailable) elsewhere.push(c);
    ordered.push(failoverOrder(ev.perZone.filter((c) => !c.unavailable), cmp));
  }
  let all: Candidate[];
  // ordered: the first candidate with any offering wins; the later ones follow it in failover.
  if (choice.mode === 'ordered') all = ordered.flat();
  else all = failoverOrder(ordered.flat(), cmp); // any_of: pooled, cheapest wins
  if (all.length === 0) throw new InfeasibleError(infeasibleMessage(task, specs, reqs, rowsPerSpec, elsewhere, catalog, ctx, cmp));
  const chosen = all[0]!;
  const max = ctx.maxFailover ?? 64;
  const seen = new Set<string>();
  const failover: Candidate[] = [];
  for (const c of all.slice(1)) {
    const k = `${c.cloud}\0${c.region}\0${c.zone ?? ''}\0${c.instanceType ?? ''}`;
    if (seen.has(k)) continue;
    seen.add(k);
    failover.push(c);
    if (failover.length >= max) break;
  }
  const sameAsChosen = (r: ConsideredRow) =>
    !r.excluded && r.cloud === chosen.cloud && r.instanceType === chosen.instanceType && r.region === chosen.region &&
    r.zone === chosen.zone && r.accelerators?.name === chosen.accelerators?.name && r.useSpot === chosen.useSpot;
  let marked = false;
  for (const r of considered) {
    if (!marked && sameAsChosen(r)) {
      r.chosen = true;
      marked = true;
    }
  }
  if (!marked) considered.push({ ...chosen, chosen: true });
  considered.sort((a, b) => {
    if (!!a.excluded !== !!b.excluded) return a.excluded ? 1 : -1;
    if (a.chosen !== b.chosen) return a.chosen ? -1 : 1;
    if (a.excluded) return (a.hourlyPrice || 0) - (b.hourlyPrice || 0) || cmpName(a, b);
    return cmp(a, b);
  });
  return { task: task.name, minimize, chosen, failover, considered };
}

function defaultSpec(): ResourcesSpec {
  return { infra: {}, useSpot: false, ports: [], labels: {} };
}
