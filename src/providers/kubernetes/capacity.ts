// What a context can take now: per node, allocatable minus the requests of the pods bound to it
// (GPUs counted from whichever vendor key each pod used), and from that the live offering the
// optimizer sees for the context, a precise "how many pods of this size fit now" for gang jobs,
// and the rows of `aloft gpus list --infra kubernetes`. Pure functions over API objects.
import type { V1Node, V1Pod, V1Taint } from '@kubernetes/client-node';
import type { LiveOffering } from '../types.js';
import { nodeGpu, podGpus, type GpuVendor, type NodeGpu } from './gpu-labels.js';

/** CPU cores from a Kubernetes quantity ("2", "500m", "1.5"). */
export function parseCpu(q: string | number | undefined): number {
  if (q === undefined || q === null || q === '') return 0;
  const s = String(q).trim();
  if (s.endsWith('m')) return Number(s.slice(0, -1)) / 1000;
  const n = Number(s);
  return Number.isFinite(n) ? n : 0;
}

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** Bytes from a Kubernetes quantity ("16Gi", "1000Mi", "1G", "128974848", "1e9"). */
export function parseBytes(q: string | number | undefined): number {
  if (q === undefined || q === null || q === '') return 0;
  const m = /^([0-9.]+(?:[eE][-+]?\d+)?)\s*([A-Za-z]*)$/.exec(String(q).trim());
  if (!m) return 0;
  const n = Number(m[1]);
  const unit = m[2] ?? '';
  const mult = unit === '' ? 1 : (BINARY[unit] ?? DECIMAL[unit]);
  return mult === undefined || !Number.isFinite(n) ? 0 : n * mult;
}

const GiB = 2 ** 30;
const round1 = (n: number) => Math.round(n * 10) / 10;

/** cpu / memory a pod holds on its node: the scheduler's rule (sum of containers vs the largest init container). */
export function podRequests(pod: Pick<V1Pod, 'spec'>): { cpus: number; memoryBytes: number } {
  let cpus = 0;
  let mem = 0;
  for (const c of pod.spec?.containers ?? []) {
    const r = c.resources?.requests ?? c.resources?.limits;
    cpus += parseCpu(r?.cpu);
    mem += parseBytes(r?.memory);
  }
  for (const c of pod.spec?.initContainers ?? []) {
    const r = c.resources?.requests ?? c.resources?.limits;
    cpus = Math.max(cpus, parseCpu(r?.cpu));
    mem = Math.max(mem, parseBytes(r?.memory));
  }
  const o = pod.spec?.overhead;
  return { cpus: cpus + parseCpu(o?.cpu), memoryBytes: mem + parseBytes(o?.memory) };
}

export interface NodeUsage {
  name: string;
  ready: boolean;
  /** not cordoned and Ready: the scheduler may place pods here */
  schedulable: boolean;
  /** the address NodePort services answer on (ExternalIP, else InternalIP) */
  address?: string;
  cpus: number;
  memoryGiB: number;
  freeCpus: number;
  freeMemoryGiB: number;
  gpu?: NodeGpu;
  gpusUsed: number;
  freeGpus: number;
  freePods: number;
  taints: V1Taint[];
}

function nodeReady(n: V1Node): boolean {
  const c = n.status?.conditions?.find((x) => x.type === 'Ready');
  return c ? c.status === 'True' : true;
}

function nodeAddress(n: V1Node): string | undefined {
  const a = n.status?.addresses ?? [];
  return (a.find((x) => x.type === 'ExternalIP') ?? a.find((x) => x.type === 'InternalIP'))?.address;
}

/** Pods that hold resources on a node: bound and not finished (terminating ones still do). */
export function holdsResources(p: Pick<V1Pod, 'spec' | 'status'>): boolean {
  const phase = p.status?.phase;
  return Boolean(p.spec?.nodeName) && phase !== 'Succeeded' && phase !== 'Failed';
}

export function nodeUsage(nodes: V1Node[], pods: V1Pod[]): NodeUsage[] {
  const byNode = new Map<string, V1Pod[]>();
  for (const p of pods) {
    if (!holdsResources(p)) continue;
    const list = byNode.get(p.spec!.nodeName!);
    if (list) list.push(p);
    else byNode.set(p.spec!.nodeName!, [p]);
  }
  return nodes.map((n) => {
    const name = n.metadata?.name ?? '';
    const alloc = n.status?.allocatable ?? n.status?.capacity ?? {};
    const gpu = nodeGpu(n);
    let cpus = 0;
    let mem = 0;
    let gpusUsed = 0;
    const bound = byNode.get(name) ?? [];
    for (const p of bound) {
      const r = podRequests(p);
      cpus += r.cpus;
      mem += r.memoryBytes;
      const g = podGpus(p);
      // A pod's GPUs count against the node only in the vendor key the node offers.
      if (gpu && g.resourceKey === gpu.resourceKey) gpusUsed += g.count;
    }
    const allocCpus = parseCpu(alloc.cpu);
    const allocMem = parseBytes(alloc.memory);
    const ready = nodeReady(n);
    const maxPods = Number(alloc.pods ?? 110) || 110;
    return {
      name,
      ready,
      schedulable: ready && !n.spec?.unschedulable,
      address: nodeAddress(n),
      cpus: allocCpus,
      memoryGiB: round1(allocMem / GiB),
      freeCpus: Math.max(0, Math.round((allocCpus - cpus) * 1000) / 1000),
      freeMemoryGiB: Math.max(0, Math.floor(((allocMem - mem) / GiB) * 10) / 10),
      gpu,
      gpusUsed,
      freeGpus: gpu ? Math.max(0, gpu.allocatable - gpusUsed) : 0,
      freePods: Math.max(0, maxPods - bound.length),
      taints: n.spec?.taints ?? [],
    };
  });
}

export { effectiveDemand, podsThatFit } from '../../optimizer/pod-fit.js';

/**
 * The context as one live offering: the largest free node shape (cpus, memory, and per GPU type
 * the most free GPUs on one node), and its nodes' free room, from which the
 * planner counts the pods that fit now.
 */
export function contextOffering(context: string, nodes: NodeUsage[]): LiveOffering | undefined {
  const usable = nodes.filter((n) => n.schedulable);
  if (!usable.length) return undefined;
  const accelerators: Record<string, number> = {};
  let cpus = 0;
  let mem = 0;
  for (const n of usable) {
    cpus = Math.max(cpus, n.freeCpus);
    mem = Math.max(mem, n.freeMemoryGiB);
    if (n.gpu?.name) accelerators[n.gpu.name] = Math.max(accelerators[n.gpu.name] ?? 0, n.freeGpus);
  }
  return {
    cloud: 'kubernetes',
    region: context,
    resources: { cpus, memoryGiB: mem, accelerators },
    available: usable.length,
    // plain data (not a closure): offerings cross the planning worker's structured clone
    fitNodes: usable.map((n) => ({
      schedulable: n.schedulable,
      freeCpus: n.freeCpus,
      freeMemoryGiB: n.freeMemoryGiB,
      freeGpus: n.freeGpus,
      freePods: n.freePods,
      ...(n.gpu ? { gpu: n.gpu.name !== undefined ? { name: n.gpu.name } : {} } : {}),
    })),
  };
}

export interface GpuNodeRow {
  context: string;
  node: string;
  gpu: string;
  vendor: GpuVendor | '-';
  /** the label the GPU was read from, or the resource key when no formatter named it */
  source: string;
  total: number;
  free: number;
  ready: boolean;
}

/** One row per node for `gpus list --infra kubernetes` (CPU nodes show `-`). */
export function gpuNodeRows(context: string, nodes: NodeUsage[]): GpuNodeRow[] {
  return nodes.map((n) => ({
    context,
    node: n.name,
    gpu: n.gpu ? (n.gpu.name ?? `(unlabelled ${n.gpu.resourceKey})`) : '-',
    vendor: n.gpu?.vendor ?? '-',
    source: n.gpu ? (n.gpu.label?.key ?? n.gpu.resourceKey) : '-',
    total: n.gpu?.allocatable ?? 0,
    free: n.freeGpus,
    ready: n.schedulable,
  }));
}

export interface GpuSummaryRow {
  context: string;
  gpu: string;
  vendor: GpuVendor;
  /** GPU counts a single pod can ask for (powers of two up to the largest node, like SkyPilot) */
  requestable: number[];
  total: number;
  free: number;
}

export function gpuSummary(context: string, nodes: NodeUsage[]): GpuSummaryRow[] {
  const by = new Map<string, GpuSummaryRow & { max: number }>();
  for (const n of nodes) {
    if (!n.gpu?.name) continue;
    let r = by.get(n.gpu.name);
    if (!r) by.set(n.gpu.name, (r = { context, gpu: n.gpu.name, vendor: n.gpu.vendor, requestable: [], total: 0, free: 0, max: 0 }));
    r.total += n.gpu.allocatable;
    if (n.schedulable) r.free += n.freeGpus;
    r.max = Math.max(r.max, n.gpu.allocatable);
  }
  return [...by.values()]
    .map(({ max, ...r }) => {
      const req: number[] = [];
      for (let k = 1; k <= max; k *= 2) req.push(k);
      if (max > 0 && req[req.length - 1] !== max) req.push(max);
      return { ...r, requestable: req };
    })
    .sort((a, b) => (a.gpu < b.gpu ? -1 : a.gpu > b.gpu ? 1 : 0));
}

/** GPU vendors present in a context (for `aloft check`). */
export function vendorsOf(nodes: NodeUsage[]): string[] {
  const s = new Set<string>();
  for (const n of nodes) if (n.gpu) s.add(`${n.gpu.vendor}${n.gpu.name ? ` (${n.gpu.name})` : ''}`);
  return [...s].sort();
}
