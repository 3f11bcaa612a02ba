// Kubernetes API objects for unit tests of the provider's pure parts (the shapes a real API server
// returns; the e2e tests get theirs from the fake through the real SDK).
import type { V1Node, V1Pod } from '@kubernetes/client-node';

export function node(name: string, o: { labels?: Record<string, string>; cpu?: string; memory?: string; gpus?: Record<string, string>; unschedulable?: boolean; ready?: boolean } = {}): V1Node {
  const alloc = { cpu: o.cpu ?? '8', memory: o.memory ?? '32Gi', pods: '110', ...o.gpus };
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: o.unschedulable ? { unschedulable: true } : {},
    status: {
      allocatable: alloc,
      capacity: alloc,
      addresses: [{ type: 'InternalIP', address: `10.0.0.${name.length}` }],
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  };
}

export function pod(name: string, nodeName: string | undefined, res: { cpu?: string; memory?: string; gpus?: Record<string, string> }, phase = 'Running'): V1Pod {
  const requests: Record<string, string> = {};
  if (res.cpu) requests.cpu = res.cpu;
  if (res.memory) requests.memory = res.memory;
  return {
    metadata: { name, namespace: 'default' },
    spec: {
      ...(nodeName ? { nodeName } : {}),
      containers: [{ name: 'c', resources: { requests, ...(res.gpus ? { limits: res.gpus } : {}) } }],
    },
    status: { phase },
  };
}

/** The issue's `mixed` cluster: GFD A100 node, AMD MI300X node, GKE L4 node, CPU node. */
export function mixedCluster(): V1Node[] {
  return [
    // The AMD node first: the fork's bug picked the first vendor key found cluster-wide.
    node('amd-mi300x', {
      cpu: '128',
      memory: '1024Gi',
      labels: { 'amd.com/gpu.product-name': 'AMD_Instinct_MI300X_OAM', 'amd.com/gpu.vram': '192G' },
      gpus: { 'amd.com/gpu': '8' },
    }),
    node('nv-a100', {
      cpu: '64',
      memory: '512Gi',
      labels: { 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-40GB', 'nvidia.com/gpu.count': '8', 'nvidia.com/gpu.present': 'true' },
      gpus: { 'nvidia.com/gpu': '8' },
    }),
    node('gke-l4', { cpu: '16', memory: '64Gi', labels: { 'cloud.google.com/gke-accelerator': 'nvidia-l4' }, gpus: { 'nvidia.com/gpu': '1' } }),
    node('cpu-1', { cpu: '16', memory: '64Gi' }),
  ];
}
