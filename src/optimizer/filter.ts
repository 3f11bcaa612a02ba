// Does an offering satisfy one resources candidate? Returns undefined when it does, or the reason it
// does not, in the words `--explain` shows. Checks run cheapest-first; the first failure is the reason.
import type { LiveOffering, PodDemand } from '../providers/types.js';
import type { ResourcesSpec } from '../spec/types.js';
import type { Catalog, Offering } from '../catalog/catalog.js';
import {
  type AcceleratorMatcher,
  acceleratorMemoryGiB,
  canonicalAccelerator,
  describeMatcher,
  resolveAccelerator,
} from '../catalog/accelerators.js';
import { isDockerImage } from '../spec/unsupported.js';
import { formatInfra, isLiveInfra, normalizeCloud, parseInfraPattern, selectorMatches } from './infra.js';
import type { OptimizeContext } from './types.js';
import { podsThatFit } from './pod-fit.js';

/** Size used when a task names no cpus, memory, instance type or fixed-shape GPU (SkyPilot's default VM). */
export const DEFAULT_CPUS = 8;
export const DEFAULT_MEMORY_GIB = 32;

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

export interface Request {
  rs: ResourcesSpec;
  /** the task runs in a docker image (image_id: docker:...): kubernetes only, for now */
  containerImage: boolean;
  numNodes: number;
  matchers: AcceleratorMatcher[];
  /** cloud the task names, normalized */
  namedCloud?: string;
  /** local may be chosen: named, in allowed infra, or no other infra is enabled (issue 4's rule) */
  localAllowed: boolean;
  /** local is ruled out: allowed infra is configured and does not include it */
  localForbidden: boolean;
  /** infra with credentials */
  usable: Set<string>;
  /** infra with credentials that this aloft can provision: what a plan may choose */
  enabled: Set<string>;
  allowed?: ReturnType<typeof parseInfraPattern>[];
  allowedText?: string;
  dryrun: boolean;
  ctx: OptimizeContext;
  /** the instance type asked for carries accelerators in the catalog (set by pool()) */
  instanceTypeAccelerated?: boolean;
}

export function makeRequest(rs: ResourcesSpec, numNodes: number, ctx: OptimizeContext): Request {
  const matchers = (rs.accelerators ?? []).map((a) => resolveAccelerator(a.name, a.count));
  const c = rs.infra.cloud;
  const namedCloud = c && c !== '*' && !c.includes('*') ? normalizeCloud(c) : undefined;
  const usable = new Set(ctx.usableClouds.map(normalizeCloud));
  const enabled = enabledInfra(ctx);
  // Issue 4's rule: local is the default only while no other infra is usable. A pool or context with
  // no reachable node (no live offering) is not usable yet, so it does not take local away.
  const liveClouds = new Set(ctx.liveOfferings.map((o) => normalizeCloud(o.cloud)));
  const onlyLocal = [...enabled].every((u) => u === 'local' || (isLiveInfra(u) && !liveClouds.has(u)));
  const allowed = ctx.allowedInfra?.map(parseInfraPattern);
  const localInAllowed = allowed?.some((p) => selectorMatches(p, 'local', 'local')) ?? false;
  const localAllowed = onlyLocal || namedCloud === 'local' || localInAllowed;
  return {
    rs,
    containerImage: isDockerImage(rs.imageId),
    numNodes,
    matchers,
    namedCloud,
    localAllowed,
    localForbidden: allowed !== undefined && !localInAllowed && namedCloud !== 'local',
    usable,
    enabled,
    allowed,
    allowedText: ctx.allowedInfra?.join(', '),
    dryrun: ctx.dryrun ?? false,
    ctx,
  };
}

/** Infra a plan may choose: with credentials and, when the context says so, provisionable here. */
export function enabledInfra(ctx: OptimizeContext): Set<string> {
  const prov = ctx.provisionable?.map(normalizeCloud);
  return new Set(ctx.usableClouds.map(normalizeCloud).filter((c) => !prov || prov.includes(c)));
}

/** Why offerings of `cloud` cannot be chosen here, or undefined when they can. */
export function unavailableReason(req: Request, cloud: string): string | undefined {
  if (req.enabled.has(cloud)) return undefined;
  if (!req.usable.has(cloud)) return `no credentials for ${cloud} (see aloft check)`;
  return `this aloft cannot provision ${cloud} yet (it can: ${req.ctx.provisionable?.join(', ') ?? 'none'})`;
}

/** Offerings worth looking at for this request (the rest cannot match and are not listed). */
export function pool(req: Request, catalog: Catalog, live: Offering[]): Offering[] {
  const { rs, matchers } = req;
  let base: Offering[];
  if (rs.instanceType) {
    base = catalog.offerings.filter((o) => o.instanceType === rs.instanceType);
    req.instanceTypeAccelerated = base.some((o) => o.acceleratorCount > 0);
  } else if (matchers.length === 0) {
    base = catalog.byAccelerator.get('') ?? [];
  } else if (matchers.every((m) => m.kind === 'name')) {
    base = [];
    for (const m of matchers) for (const o of catalog.byAccelerator.get(m.name) ?? []) base.push(o);
  } else {
    base = [];
    for (const [k, list] of catalog.byAccelerator) if (k !== '') for (const o of list) base.push(o);
  }
  return live.length ? base.concat(live) : base;
}

export function liveToOffering(l: LiveOffering): Offering {
  const accs: Record<string, number> = {};
  for (const [name, n] of Object.entries(l.resources.accelerators)) {
    const c = canonicalAccelerator(name) ?? name;
    accs[c] = (accs[c] ?? 0) + n;
  }
  const first = Object.entries(accs)[0];
  return {
    cloud: normalizeCloud(l.cloud),
    region: l.region,
    zone: l.zone,
    accelerator: first?.[0],
    acceleratorCount: first?.[1] ?? 0,
    acceleratorMemGiB: first ? acceleratorMemoryGiB(first[0]) : 0,
    accelerators: accs,
    cpus: l.resources.cpus,
    memoryGiB: l.resources.memoryGiB,
    price: 0,
    spotPrice: 0,
    live: true,
    available: l.available,
    ...(l.fitNodes ? { fitNodes: l.fitNodes } : {}),
  };
}

/** The accelerator choice this offering satisfies, or the reason none fits. */
export function matchAccelerators(req: Request, o: Offering): AcceleratorMatcher | string {
  let why: string | undefined;
  for (const m of req.matchers) {
    if (o.live) {
      const accs = o.accelerators ?? {};
      for (const [name, have] of Object.entries(accs)) {
        const fits = m.kind === 'name' ? name === m.name : memFits(m, acceleratorMemoryGiB(name));
        if (!fits) continue;
        if (have >= m.count) return m;
        why ??= `only ${fmt(have)} ${name} on a node, asked for ${fmt(m.count)}`;
      }
      continue;
    }
    if (!o.accelerator) continue;
    if (m.kind === 'name' ? o.accelerator !== m.name : !memFits(m, o.acceleratorMemGiB)) {
      if (m.kind === 'memory') why ??= `${o.accelerator} has ${fmt(o.acceleratorMemGiB)}GB, asked for ${describeMatcher(m).split(':')[0]}`;
      continue;
    }
    // A fraction of a GPU (T4:0.5) is a share of a node with whole GPUs: the smallest that covers it.
    const whole = Math.ceil(m.count);
    if (o.acceleratorCount === whole) return m;
    why ??= o.acceleratorCount < whole ? `too few GPUs (${o.acceleratorCount} < ${fmt(m.count)})` : `${o.acceleratorCount} GPUs, asked for ${fmt(m.count)}`;
  }
  if (why) return why;
  const want = req.matchers.map(describeMatcher).join(' or ');
  // A kubernetes context can mix GPU types: name them all (per-node free counts).
  const has = o.live && o.accelerators && Object.keys(o.accelerators).length > 1
    ? Object.entries(o.accelerators).map(([n, c]) => `${n}:${fmt(c)}`).join(', ')
    : o.accelerator ? `${o.accelerator}:${o.acceleratorCount}` : undefined;
  return has ? `has ${has}, not ${want}` : `no accelerators (asked for ${want})`;
}

function memFits(m: Extract<AcceleratorMatcher, { kind: 'memory' }>, gib: number): boolean {
  return m.atLeast ? gib >= m.minGiB : Math.abs(gib - m.minGiB) < 1;
}

function quantityReason(what: string, have: number, q: { value: number; atLeast: boolean }, live: boolean): string | undefined {
  if (live || q.atLeast) return have >= q.value || (live && have === 0) ? undefined : `too few ${what} (${fmt(have)} < ${fmt(q.value)})`;
  return have === q.value ? undefined : `${fmt(have)} ${what}, asked for exactly ${fmt(q.value)}`;
}

export interface Verdict {
  reason?: string;
  matcher?: AcceleratorMatcher;
  noCredentials?: boolean;
  /** fits, but can never be chosen here: shown for price comparison only (see Candidate.unavailable) */
  unavailable?: string;
  price?: number;
}

/** What one node of the task asks of a live offering that packs nodes (kubernetes pods). */
function podDemand(rs: ResourcesSpec, m: AcceleratorMatcher | undefined, o: Offering): PodDemand {
  const d: PodDemand = {};
  if (rs.cpus) d.cpus = rs.cpus.value;
  if (rs.memory) d.memoryGiB = rs.memory.value;
  if (m) {
    d.gpus = m.count;
    d.accelerator = m.kind === 'name' ? m.name : liveAcceleratorFor(m, o);
  }
  return d;
}

/** The accelerator of a live offering a memory matcher ("24GB+") picks: the first that fits. */
export function liveAcceleratorFor(m: AcceleratorMatcher, o: Offering): string | undefined {
  if (m.kind === 'name') return m.name;
  return Object.entries(o.accelerators ?? {}).find(([n, have]) => have >= m.count && memFits(m, acceleratorMemoryGiB(n)))?.[0];
}

/** Checks one offering against one request. */
export function check(req: Request, o: Offering): Verdict {
  const { rs, ctx } = req;
  const infra = rs.infra;
  if (infra.cloud !== undefined && !selectorMatches({ cloud: infra.cloud }, o.cloud, o.region)) {
    return { reason: `infra is ${formatInfra(infra)}` };
  }
  if (infra.region !== undefined && !selectorMatches({ region: infra.region }, o.cloud, o.region)) {
    return { reason: `region ${o.region}, asked for ${infra.region}` };
  }
  if (infra.zone !== undefined && !selectorMatches({ zone: infra.zone }, o.cloud, o.region, o.zone)) {
    return { reason: `zone ${o.zone ?? '-'}, asked for ${infra.zone}` };
  }
  if (req.containerImage && o.cloud !== 'kubernetes') return { reason: 'docker images (image_id: docker:...) run on kubernetes only for now' };
  if (o.cloud === 'local') {
    if (req.localForbidden) return { reason: `not in allowed infra (${req.allowedText})` };
    if (!req.localAllowed) return { reason: 'local is used only when named (--infra local) or in allowed infra, since other infra is enabled' };
  } else if (req.allowed && !req.allowed.some((p) => selectorMatches(p, o.cloud, o.region, o.zone))) {
    return { reason: `not in allowed infra (${req.allowedText})` };
  }
  // Clouds without credentials (or that this aloft cannot provision) are checked all the way, so a
  // dry run can show what they would cost and an error can say what would fit; never chosen.
  const unavailable = o.live ? undefined : unavailableReason(req, o.cloud);
  const noCredentials = !o.live && !req.usable.has(o.cloud);
  // A live infra named outright (`--infra local`, `ssh/POOL`) has the nodes it has: a cloud
  // instance type in the YAML is ignored there (the plan says so) rather than making it
  // infeasible — unless that type stands for GPUs (p4d.24xlarge), which the nodes must then have.
  const namedLive = o.live && (o.cloud === 'local' || o.cloud === 'ssh') && normalizeCloud(infra.cloud ?? '') === o.cloud;
  if (rs.instanceType && namedLive && req.instanceTypeAccelerated && !req.matchers.length) {
    return { reason: `instance type ${rs.instanceType} stands for GPUs, and this infra's nodes are what they are (ask for accelerators instead)` };
  }
  if (rs.instanceType && !namedLive && o.instanceType !== rs.instanceType) return { reason: `instance type ${o.instanceType ?? '-'}, asked for ${rs.instanceType}` };
  let matcher: AcceleratorMatcher | undefined;
  if (req.matchers.length) {
    const m = matchAccelerators(req, o);
    if (typeof m === 'string') return { reason: m };
    matcher = m;
  } else if (!rs.instanceType && !o.live && o.acceleratorCount > 0) {
    return { reason: 'has accelerators, task asks for none' };
  }
  const live = o.live === true;
  if (rs.cpus) {
    const r = quantityReason('vCPUs', o.cpus, rs.cpus, live);
    if (r) return { reason: r };
  }
  if (rs.memory) {
    const r = quantityReason('GB memory', o.memoryGiB, rs.memory, live);
    if (r) return { reason: r };
  }
  // With nothing said about size, cloud VMs whose host is a free choice get the default size.
  if (!rs.cpus && !rs.memory && !rs.instanceType && !live && (o.acceleratorCount === 0 || o.hostPrice !== undefined && o.instanceType?.startsWith('n1-'))) {
    if (o.cpus < DEFAULT_CPUS || o.memoryGiB < DEFAULT_MEMORY_GIB) {
      return { reason: `smaller than the default ${DEFAULT_CPUS}+ vCPUs, ${DEFAULT_MEMORY_GIB}+ GB (set cpus/memory to change)` };
    }
  }
  const price = rs.useSpot ? o.spotPrice : o.price;
  if (price === undefined) return { reason: rs.useSpot ? 'no spot offering' : 'no on-demand offering (spot only)' };
  if (live && o.fitNodes) {
    const n = podsThatFit(o.fitNodes, podDemand(rs, matcher, o));
    if (n < req.numNodes) return { reason: n === 0 ? 'no node has room for it now' : `room for ${n} of ${req.numNodes} node(s) now` };
  } else if (live && (o.available ?? 1) < req.numNodes) return { reason: `only ${o.available} node(s) available, need ${req.numNodes}` };
  const blocked = ctx.blocklist?.blocked(o.cloud, o.region, o.zone);
  if (blocked) return { reason: `blocked: ${blocked.reason}` };
  const v: Verdict = { matcher, noCredentials, price };
  if (unavailable) v.unavailable = unavailable;
  return v;
}
