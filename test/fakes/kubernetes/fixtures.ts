// Node fixtures: what `kubectl get nodes -o yaml` shows on the clusters aloft must handle —
// GPU Feature Discovery labels on NVIDIA nodes, the AMD device plugin's node labeller on AMD
// nodes, GKE's accelerator label, the usual GPU taints — with capacity and allocatable.
import { release } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { KObj } from './store.js';

export interface NodeSpec {
  name: string;
  labels?: Record<string, string>;
  /** e.g. { cpu: '96', memory: '1152Gi', 'nvidia.com/gpu': '8' } ('pods' defaults to 110) */
  capacity: Record<string, string>;
  /** defaults to capacity less a small system reservation of cpu and memory */
  allocatable?: Record<string, string>;
  taints?: { key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }[];
  unschedulable?: boolean;
}

const nvidia = (product: string, count: number, memoryMiB: number, family: string) => ({
  'nvidia.com/gpu.present': 'true',
  'nvidia.com/gpu.product': product,
  'nvidia.com/gpu.count': String(count),
  'nvidia.com/gpu.memory': String(memoryMiB),
  'nvidia.com/gpu.family': family,
  'nvidia.com/gpu.machine': 'NVIDIA-DGX',
  'nvidia.com/cuda.driver.major': '550',
  'nvidia.com/cuda.runtime.major': '12',
  'feature.node.kubernetes.io/pci-10de.present': 'true',
});

const amd = (product: string, deviceId: string, vram: string, family: string) => ({
  'amd.com/gpu.product-name': product,
  'amd.com/gpu.device-id': deviceId,
  'amd.com/gpu.family': family,
  'amd.com/gpu.vram': vram,
  'amd.com/gpu.driver-version': '6.8.5',
  'feature.node.kubernetes.io/amd-gpu': 'true',
});

const NVIDIA_TAINT = { key: 'nvidia.com/gpu', effect: 'NoSchedule' as const };
const AMD_TAINT = { key: 'amd.com/gpu', effect: 'NoSchedule' as const };

export const A100_NODE = (name = 'gpu-a100-0'): NodeSpec => ({
  name,
  labels: { ...nvidia('NVIDIA-A100-SXM4-80GB', 8, 81920, 'ampere'), 'node.kubernetes.io/instance-type': 'p4de.24xlarge' },
  capacity: { cpu: '96', memory: '1152Gi', 'nvidia.com/gpu': '8', 'ephemeral-storage': '2Ti' },
  taints: [NVIDIA_TAINT],
});

export const H100_NODE = (name = 'gpu-h100-0'): NodeSpec => ({
  name,
  labels: { ...nvidia('NVIDIA-H100-80GB-HBM3', 8, 81559, 'hopper'), 'node.kubernetes.io/instance-type': 'p5.48xlarge' },
  capacity: { cpu: '192', memory: '2048Gi', 'nvidia.com/gpu': '8', 'ephemeral-storage': '4Ti' },
  taints: [NVIDIA_TAINT],
});

export const H200_NODE = (name = 'gpu-h200-0'): NodeSpec => ({
  name,
  labels: { ...nvidia('NVIDIA-H200', 8, 143771, 'hopper'), 'node.kubernetes.io/instance-type': 'p5en.48xlarge' },
  capacity: { cpu: '192', memory: '2048Gi', 'nvidia.com/gpu': '8', 'ephemeral-storage': '4Ti' },
  taints: [NVIDIA_TAINT],
});

export const MI300X_NODE = (name = 'gpu-mi300x-0'): NodeSpec => ({
  name,
  labels: { ...amd('AMD_Instinct_MI300X_OAM', '74a1', '192G', 'AI'), 'node.kubernetes.io/instance-type': 'mi300x-8' },
  capacity: { cpu: '128', memory: '2048Gi', 'amd.com/gpu': '8', 'ephemeral-storage': '4Ti' },
  taints: [AMD_TAINT],
});

export const L4_GKE_NODE = (name = 'gke-l4-pool-0'): NodeSpec => ({
  name,
  labels: {
    'cloud.google.com/gke-accelerator': 'nvidia-l4',
    'cloud.google.com/gke-accelerator-count': '1',
    'cloud.google.com/gke-nodepool': 'l4-pool',
    'cloud.google.com/machine-family': 'g2',
    'node.kubernetes.io/instance-type': 'g2-standard-8',
    'topology.kubernetes.io/region': 'us-central1',
    'topology.kubernetes.io/zone': 'us-central1-a',
  },
  capacity: { cpu: '8', memory: '32Gi', 'nvidia.com/gpu': '1', 'ephemeral-storage': '100Gi' },
  // GKE taints its GPU node pools this way.
  taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }],
});

export const CPU_NODE = (name = 'cpu-0', cpu = '16', memory = '64Gi'): NodeSpec => ({
  name,
  labels: { 'node.kubernetes.io/instance-type': 'm6i.4xlarge' },
  capacity: { cpu, memory, 'ephemeral-storage': '200Gi' },
});

export const FIXTURES: Record<string, () => NodeSpec[]> = {
  /** NVIDIA A100 (GFD labels), AMD MI300X (node labeller), GKE L4, and a CPU node */
  mixed: () => [A100_NODE(), MI300X_NODE(), L4_GKE_NODE(), CPU_NODE()],
  /** two CPU nodes */
  cpu: () => [CPU_NODE('cpu-0'), CPU_NODE('cpu-1')],
  /** one small CPU node (2 CPUs, 4Gi): easy to fill */
  tiny: () => [CPU_NODE('cpu-0', '2', '4Gi')],
  nvidia: () => [A100_NODE(), H100_NODE(), CPU_NODE()],
  amd: () => [MI300X_NODE('gpu-mi300x-0'), MI300X_NODE('gpu-mi300x-1'), CPU_NODE()],
  /** big GPU nodes for SkyPilot corpus tasks: 2× H100:8, 2× H200:8, 2× A100:8 (GFD), MI300X:8, CPU */
  'big-gpu': () => [H100_NODE('gpu-h100-0'), H100_NODE('gpu-h100-1'), H200_NODE('gpu-h200-0'), H200_NODE('gpu-h200-1'), A100_NODE('gpu-a100-0'), A100_NODE('gpu-a100-1'), MI300X_NODE(), CPU_NODE('cpu-0', '64', '256Gi')],
  /** 200 nodes of every kind (planning benchmarks) */
  large: () =>
    Array.from({ length: 200 }, (_, i) => {
      const make = [A100_NODE, H100_NODE, MI300X_NODE, L4_GKE_NODE, (n: string) => CPU_NODE(n)][i % 5]!;
      return make(`node-${String(i).padStart(3, '0')}`);
    }),
  empty: () => [],
};

function reserve(capacity: Record<string, string>): Record<string, string> {
  const out = { ...capacity };
  const cpu = Number(capacity['cpu']);
  if (Number.isFinite(cpu)) out['cpu'] = `${cpu * 1000 - 100}m`;
  const mem = /^(\d+)Gi$/.exec(capacity['memory'] ?? '');
  if (mem) out['memory'] = `${Number(mem[1]) * 1024 * 1024 - 512 * 1024}Ki`;
  return out;
}

export function nodeObject(spec: NodeSpec, ip: string): KObj {
  const capacity = { pods: '110', ...spec.capacity };
  const allocatable = { pods: '110', ...(spec.allocatable ?? reserve(spec.capacity)) };
  const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, lastHeartbeatTime: t, lastTransitionTime: t, reason, message });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: spec.name,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': spec.name,
        'kubernetes.io/os': 'linux',
        ...(spec.labels ?? {}),
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    },
    spec: { ...(spec.taints?.length ? { taints: spec.taints.map((x) => ({ ...x })) } : {}), ...(spec.unschedulable ? { unschedulable: true } : {}) },
    status: {
      capacity,
      allocatable,
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: ip },
        { type: 'Hostname', address: spec.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: randomUUID().replace(/-/g, ''),
        systemUUID: randomUUID(),
        bootID: randomUUID(),
        kernelVersion: release(),
        osImage: 'Ubuntu 22.04.5 LTS',
        containerRuntimeVersion: 'containerd://1.7.24',
        kubeletVersion: 'v1.32.0',
        kubeProxyVersion: 'v1.32.0',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}
