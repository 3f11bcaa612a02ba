// The default scheduler's filters, in its order (NodeUnschedulable, TaintToleration, NodeAffinity,
// NodeResourcesFit — a node is reported under the first filter it fails), a least-allocated score,
// and the FitError text the real scheduler puts in FailedScheduling events:
//   0/4 nodes are available: 1 Insufficient amd.com/gpu, 3 node(s) didn't match Pod's node
//   affinity/selector. preemption: 0/4 nodes are available: 1 No preemption victims found for
//   incoming pod, 3 Preemption is not helpful for scheduling.
// (reason counts sorted as strings, like the Go code's sort.Strings over "N reason").
import { milli, parseQuantity } from './quantity.js';
import type { KObj } from './store.js';

export type Amounts = Record<string, number>;

/** cpu in millicores, everything else in base units. */
export function amount(resource: string, q: unknown): number {
  return resource === 'cpu' ? milli(q) : (parseQuantity(q) ?? 0);
}

/** Effective requests: the larger of the containers' sum and any one init container (they run one at a time). */
export function podRequests(pod: KObj): Amounts {
  const sum: Amounts = {};
  for (const c of pod.spec?.containers ?? [])
    for (const [r, q] of Object.entries(c.resources?.requests ?? {})) sum[r] = (sum[r] ?? 0) + amount(r, q);
  for (const c of pod.spec?.initContainers ?? [])
    for (const [r, q] of Object.entries(c.resources?.requests ?? {})) sum[r] = Math.max(sum[r] ?? 0, amount(r, q));
  return sum;
}

export function allocatable(node: KObj): Amounts {
  const out: Amounts = {};
  for (const [r, q] of Object.entries(node.status?.allocatable ?? {})) out[r] = amount(r, q);
  return out;
}

/** Pods that hold resources on their node: bound and not finished (terminating pods still count). */
export function holdsResources(pod: KObj): boolean {
  return !!pod.spec?.nodeName && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

function tolerates(pod: KObj, taint: { key: string; value?: string; effect: string }): boolean {
  return (pod.spec?.tolerations ?? []).some((t: any) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (!t.key) return t.operator === 'Exists';
    if (t.key !== taint.key) return false;
    return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '');
  });
}

function matchExpr(e: any, get: (key: string) => string | undefined): boolean {
  const v = get(e.key);
  const values: string[] = (e.values ?? []).map(String);
  switch (e.operator) {
    case 'In': return v !== undefined && values.includes(v);
    case 'NotIn': return v === undefined || !values.includes(v);
    case 'Exists': return v !== undefined;
    case 'DoesNotExist': return v === undefined;
    case 'Gt': return v !== undefined && Number.parseInt(v, 10) > Number.parseInt(values[0] ?? '', 10);
    case 'Lt': return v !== undefined && Number.parseInt(v, 10) < Number.parseInt(values[0] ?? '', 10);
    default: return false;
  }
}

function termMatches(term: any, node: KObj): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false; // an empty term matches no objects
  return (
    exprs.every((e: any) => matchExpr(e, (k) => node.metadata.labels?.[k])) &&
    fields.every((e: any) => matchExpr(e, (k) => (k === 'metadata.name' ? node.metadata.name : undefined)))
  );
}

export function matchesNodeAffinity(pod: KObj, node: KObj): boolean {
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) if (node.metadata.labels?.[k] !== v) return false;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms && !terms.some((t: any) => termMatches(t, node))) return false;
  return true;
}

interface Verdict {
  reasons: string[];
  /** true when removing pods could not help (the scheduler's UnschedulableAndUnresolvable) */
  unresolvable: boolean;
}

function filter(pod: KObj, node: KObj, used: Amounts, podCount: number): Verdict | undefined {
  if (node.spec?.unschedulable && !tolerates(pod, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }))
    return { reasons: ['node(s) were unschedulable'], unresolvable: true };
  for (const t of node.spec?.taints ?? [])
    if ((t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(pod, t))
      return { reasons: [`node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`], unresolvable: true };
  if (!matchesNodeAffinity(pod, node)) return { reasons: ["node(s) didn't match Pod's node affinity/selector"], unresolvable: true };
  const alloc = allocatable(node);
  const reasons: string[] = [];
  if (podCount + 1 > (alloc['pods'] ?? 110)) reasons.push('Too many pods');
  const req = podRequests(pod);
  for (const [r, q] of Object.entries(req).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (q <= 0) continue;
    if ((alloc[r] ?? 0) - (used[r] ?? 0) < q) reasons.push(`Insufficient ${r}`);
  }
  return reasons.length ? { reasons, unresolvable: false } : undefined;
}

function score(pod: KObj, node: KObj, used: Amounts): number {
  const alloc = allocatable(node);
  const req = podRequests(pod);
  let s = 0;
  for (const r of ['cpu', 'memory']) {
    const a = alloc[r] ?? 0;
    s += a > 0 ? (a - (used[r] ?? 0) - (req[r] ?? 0)) / a : 0;
  }
  for (const p of pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [])
    if (termMatches(p.preference ?? {}, node)) s += (p.weight ?? 0) / 10;
  return s;
}

export type Placement = { node: string } | { message: string };

/** Picks a node for `pod`, given every node and every pod that holds resources. */
export function schedule(pod: KObj, nodes: KObj[], pods: KObj[]): Placement {
  const used = new Map<string, Amounts>();
  const counts = new Map<string, number>();
  for (const p of pods) {
    if (!holdsResources(p)) continue;
    const n = p.spec.nodeName as string;
    const u = used.get(n) ?? {};
    for (const [r, q] of Object.entries(podRequests(p))) u[r] = (u[r] ?? 0) + q;
    used.set(n, u);
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  const histogram = new Map<string, number>();
  const preemption = new Map<string, number>();
  let best: { name: string; score: number } | undefined;
  for (const node of nodes) {
    const u = used.get(node.metadata.name) ?? {};
    const v = filter(pod, node, u, counts.get(node.metadata.name) ?? 0);
    if (!v) {
      const s = score(pod, node, u);
      if (!best || s > best.score) best = { name: node.metadata.name, score: s };
      continue;
    }
    for (const r of v.reasons) histogram.set(r, (histogram.get(r) ?? 0) + 1);
    const p = v.unresolvable ? 'Preemption is not helpful for scheduling' : 'No preemption victims found for incoming pod';
    preemption.set(p, (preemption.get(p) ?? 0) + 1);
  }
  if (best) return { node: best.name };
  const sorted = (m: Map<string, number>) => [...m].map(([r, n]) => `${n} ${r}`).sort();
  const n = nodes.length;
  let message = `0/${n} nodes are available`;
  if (histogram.size) message += `: ${sorted(histogram).join(', ')}.`;
  else message += '.';
  message += ` preemption: 0/${n} nodes are available${preemption.size ? ': ' + sorted(preemption).join(', ') : ''}.`;
  return { message };
}
