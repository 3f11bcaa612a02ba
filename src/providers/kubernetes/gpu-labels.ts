// Which GPU a Kubernetes node has, read from every label formatter clusters use, mapped to the
// accelerator registry's canonical names; and which vendor resource key a pod asking for that GPU
// must request. Mixed NVIDIA + AMD clusters are the reason for the care here (seed 003: the
// EmbeddedLLM fork's fixes): every formatter is tried on every node, the resource key is decided
// per node / per request from what matched (never a cluster-wide default), label values stay
// strings, and GPU counts are read from whichever vendor key a pod or node actually uses.
import type { V1Node, V1Pod, V1Toleration } from '@kubernetes/client-node';
import { acceleratorInfo, canonicalAccelerator } from '../../catalog/accelerators.js';

export type GpuVendor = 'nvidia' | 'amd';
export type GpuResourceKey = 'nvidia.com/gpu' | 'amd.com/gpu';

export const GPU_RESOURCE_KEYS: Record<GpuVendor, GpuResourceKey> = { nvidia: 'nvidia.com/gpu', amd: 'amd.com/gpu' };
const ALL_KEYS: GpuResourceKey[] = ['nvidia.com/gpu', 'amd.com/gpu'];

export interface LabelFormatter {
  /** the node label key */
  key: string;
  /** vendor implied by the label itself (amd.com/* is AMD; the others are NVIDIA's or vendor-neutral) */
  category: GpuVendor | 'any';
  /** what sets it, for messages and docs */
  source: string;
}

/** Every formatter, tried in this order on every node; the first that names a known GPU wins. */
export const LABEL_FORMATTERS: readonly LabelFormatter[] = [
  { key: 'skypilot.co/accelerator', category: 'any', source: 'SkyPilot (sky gpus label)' },
  { key: 'nvidia.com/gpu.product', category: 'nvidia', source: 'NVIDIA GPU Feature Discovery' },
  { key: 'cloud.google.com/gke-accelerator', category: 'nvidia', source: 'GKE' },
  { key: 'gpu.nvidia.com/class', category: 'nvidia', source: 'CoreWeave' },
  { key: 'karpenter.k8s.aws/instance-gpu-name', category: 'nvidia', source: 'Karpenter (EKS)' },
  { key: 'nebius.com/gpu-name', category: 'nvidia', source: 'Nebius' },
  { key: 'amd.com/gpu.product-name', category: 'amd', source: 'AMD GPU device plugin (node labeller)' },
];

/** Label keys that mark a node as a GPU node (CPU-only pods are steered away from them). */
export const GPU_LABEL_KEYS: readonly string[] = LABEL_FORMATTERS.map((f) => f.key);

// Words vendors put around the model name: "NVIDIA-A100-SXM4-80GB", "AMD_Instinct_MI300X_OAM".
const NOISE = new Set(['nvidia', 'amd', 'tesla', 'geforce', 'instinct', 'quadro', 'radeon']);
const MEMORY = /^(\d+)gb$/i;

/**
 * Canonical accelerator name for a label value, or undefined. Label values spell GPUs many ways
 * (GFD "NVIDIA-H100-80GB-HBM3", GKE "nvidia-tesla-a100", CoreWeave "A100_NVLINK_80GB", AMD
 * "AMD_Instinct_MI300X_OAM", Karpenter "l40s"); the registry knows the models, so the value is cut
 * into words and the longest run of words the registry knows wins, with a memory size word
 * ("80GB") deciding between variants (A100 vs A100-80GB).
 */
export function canonicalFromLabel(value: unknown): string | undefined {
  // Label values are strings on the wire, but a YAML/JSON round trip can make "1" a number.
  const text = String(value ?? '').trim();
  if (!text) return undefined;
  const whole = canonicalAccelerator(text);
  if (whole) return whole;
  const words = text.split(/[\s_\-.]+/).filter(Boolean);
  const memory = words.find((w) => MEMORY.test(w));
  const core = words.filter((w) => !NOISE.has(w.toLowerCase()));
  const attempts: string[] = [core.join('-')];
  const runs: string[][] = [];
  // Longest run first: "RTX-A6000" before "A6000", "H100-NVL" before "H100".
  for (let len = core.length; len >= 1; len--) {
    for (let i = 0; i + len <= core.length; i++) {
      const run = core.slice(i, i + len);
      if (!run.every((w) => MEMORY.test(w))) runs.push(run);
    }
  }
  // A memory word picks the variant first ("V100-SXM2-32GB" is V100-32GB, not V100-SXM2).
  if (memory) for (const run of runs) if (!run.includes(memory)) attempts.push(`${run.join('-')}-${memory}`);
  for (const run of runs) attempts.push(run.join('-'));
  for (const a of attempts) {
    const c = canonicalAccelerator(a);
    if (c && acceleratorInfo(c)) return c;
  }
  return undefined;
}

export interface MatchedLabel {
  key: string;
  /** always the string value as found on the node (node affinity values must be strings) */
  value: string;
  formatter: LabelFormatter;
  name: string;
}

/** The first formatter that names a known GPU on these labels, trying every formatter. */
export function matchGpuLabel(labels: Record<string, string> | undefined): MatchedLabel | undefined {
  if (!labels) return undefined;
  for (const f of LABEL_FORMATTERS) {
    const raw = (labels as Record<string, unknown>)[f.key];
    if (raw === undefined || raw === null) continue;
    const name = canonicalFromLabel(raw);
    if (name) return { key: f.key, value: String(raw), formatter: f, name };
  }
  return undefined;
}

/** A count from a resource map (allocatable / requests / limits); quantities of GPUs are integers. */
function gpuQuantity(map: Record<string, string> | undefined, key: string): number {
  const v = map?.[key];
  if (v === undefined || v === null) return 0;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

export interface NodeGpu {
  /** canonical name, or undefined when the node has GPU capacity but no formatter names it */
  name?: string;
  vendor: GpuVendor;
  resourceKey: GpuResourceKey;
  label?: { key: string; value: string };
  /** GPUs the kubelet offers to pods (allocatable), counted from the vendor key the node has */
  allocatable: number;
  capacity: number;
}

/** Vendor of a canonical name per the registry (MI300X → amd). */
function registryVendor(name: string | undefined): GpuVendor | undefined {
  const v = name ? acceleratorInfo(name)?.vendor : undefined;
  return v === 'nvidia' || v === 'amd' ? v : undefined;
}

/**
 * The node's GPU (one type per node: the homogeneous-node assumption SkyPilot makes too). The
 * resource key is the vendor key the node actually advertises; when it advertises both or
 * neither, the GPU's vendor in the registry decides, then the matched formatter's category.
 */
export function nodeGpu(node: Pick<V1Node, 'metadata' | 'status'>): NodeGpu | undefined {
  const alloc = node.status?.allocatable;
  const cap = node.status?.capacity;
  const has = ALL_KEYS.filter((k) => gpuQuantity(alloc, k) > 0 || gpuQuantity(cap, k) > 0);
  const match = matchGpuLabel(node.metadata?.labels);
  if (!match && has.length === 0) return undefined;
  let vendor: GpuVendor;
  if (has.length === 1) vendor = has[0] === 'amd.com/gpu' ? 'amd' : 'nvidia';
  else vendor = registryVendor(match?.name) ?? (match?.formatter.category === 'amd' ? 'amd' : 'nvidia');
  const resourceKey = GPU_RESOURCE_KEYS[vendor];
  return {
    name: match?.name,
    vendor,
    resourceKey,
    ...(match ? { label: { key: match.key, value: match.value } } : {}),
    allocatable: gpuQuantity(alloc, resourceKey),
    capacity: gpuQuantity(cap, resourceKey),
  };
}

/** GPUs a pod asks for, from whichever vendor key it used (init containers count by their max). */
export function podGpus(pod: Pick<V1Pod, 'spec'>): { count: number; resourceKey?: GpuResourceKey } {
  let best: { count: number; resourceKey?: GpuResourceKey } = { count: 0 };
  for (const key of ALL_KEYS) {
    let sum = 0;
    for (const c of pod.spec?.containers ?? []) {
      sum += Math.max(gpuQuantity(c.resources?.requests, key), gpuQuantity(c.resources?.limits, key));
    }
    let init = 0;
    for (const c of pod.spec?.initContainers ?? []) {
      init = Math.max(init, gpuQuantity(c.resources?.requests, key), gpuQuantity(c.resources?.limits, key));
    }
    const n = Math.max(sum, init);
    if (n > best.count) best = { count: n, resourceKey: key };
  }
  return best;
}

export interface GpuPlacement {
  resourceKey: GpuResourceKey;
  /** node selector terms (ORed): one per label key, values as strings */
  terms: Array<{ key: string; values: string[] }>;
}

/**
 * Where a pod asking for GPU `name` may go in one context, and which resource key it requests —
 * decided from the nodes that carry that GPU, never from a cluster-wide default. Undefined when no
 * node of the context has it (the planner saw one; it may have gone since).
 */
export function gpuPlacement(nodes: Array<Pick<V1Node, 'metadata' | 'status'>>, name: string): GpuPlacement | undefined {
  const byKey = new Map<string, Set<string>>();
  const votes: Record<GpuResourceKey, number> = { 'nvidia.com/gpu': 0, 'amd.com/gpu': 0 };
  for (const n of nodes) {
    const g = nodeGpu(n);
    if (!g || g.name !== name || !g.label) continue;
    votes[g.resourceKey]++;
    let s = byKey.get(g.label.key);
    if (!s) byKey.set(g.label.key, (s = new Set()));
    s.add(String(g.label.value));
  }
  if (byKey.size === 0) return undefined;
  const terms = [...byKey].map(([key, values]) => ({ key, values: [...values].map(String).sort() }));
  const resourceKey: GpuResourceKey = votes['amd.com/gpu'] > votes['nvidia.com/gpu'] ? 'amd.com/gpu' : 'nvidia.com/gpu';
  return { resourceKey, terms };
}

/**
 * Tolerations a GPU pod gets: the taints GPU node pools usually carry — the vendor's resource key
 * (GKE and the NVIDIA/AMD operators' docs: `nvidia.com/gpu=present:NoSchedule`, `amd.com/gpu`)
 * and AKS's `sku=gpu:NoSchedule`. CPU-only pods get none, which keeps them off tainted GPU nodes.
 */
export function gpuTolerations(resourceKey: GpuResourceKey): V1Toleration[] {
  return [
    { key: resourceKey, operator: 'Exists', effect: 'NoSchedule' },
    { key: 'sku', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' },
  ];
}
