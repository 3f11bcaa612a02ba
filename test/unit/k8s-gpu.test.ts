// GPU detection, capacity and placement on Kubernetes, mixed NVIDIA + AMD clusters first: each
// bug the seed fork (seed 003) fixed has a test here named after its commit.
import { describe, expect, it } from 'vitest';
import { canonicalFromLabel, gpuPlacement, matchGpuLabel, nodeGpu, podGpus } from '../../src/providers/kubernetes/gpu-labels.js';
import { contextOffering, gpuNodeRows, gpuSummary, nodeUsage, parseBytes, parseCpu, podsThatFit } from '../../src/providers/kubernetes/capacity.js';
import { mixedCluster, node, pod } from '../helpers/k8s-nodes.js';

describe('label formatters → canonical names', () => {
  it.each([
    ['nvidia.com/gpu.product', 'NVIDIA-A100-SXM4-80GB', 'A100-80GB'],
    ['nvidia.com/gpu.product', 'NVIDIA-A100-SXM4-40GB', 'A100'],
    ['nvidia.com/gpu.product', 'NVIDIA-A100-PCIE-40GB', 'A100'],
    ['nvidia.com/gpu.product', 'NVIDIA-H100-80GB-HBM3', 'H100'],
    ['nvidia.com/gpu.product', 'NVIDIA-H100-NVL', 'H100-NVL'],
    ['nvidia.com/gpu.product', 'NVIDIA-H200', 'H200'],
    ['nvidia.com/gpu.product', 'Tesla-T4', 'T4'],
    ['nvidia.com/gpu.product', 'Tesla-V100-SXM2-32GB', 'V100-32GB'],
    ['nvidia.com/gpu.product', 'Tesla-V100-SXM2-16GB', 'V100'],
    ['nvidia.com/gpu.product', 'NVIDIA-L40S', 'L40S'],
    ['nvidia.com/gpu.product', 'NVIDIA-RTX-A6000', 'RTXA6000'],
    ['nvidia.com/gpu.product', 'NVIDIA-GeForce-RTX-4090', 'RTX4090'],
    ['nvidia.com/gpu.product', 'NVIDIA-A10G', 'A10G'],
    ['cloud.google.com/gke-accelerator', 'nvidia-tesla-a100', 'A100'],
    ['cloud.google.com/gke-accelerator', 'nvidia-a100-80gb', 'A100-80GB'],
    ['cloud.google.com/gke-accelerator', 'nvidia-l4', 'L4'],
    ['cloud.google.com/gke-accelerator', 'nvidia-h100-mega-80gb', 'H100-MEGA'],
    ['skypilot.co/accelerator', 'h100', 'H100'],
    ['skypilot.co/accelerator', 'mi300x', 'MI300X'],
    ['gpu.nvidia.com/class', 'A100_NVLINK_80GB', 'A100-80GB'],
    ['gpu.nvidia.com/class', 'H100_NVLINK_80GB', 'H100'],
    ['gpu.nvidia.com/class', 'RTX_A6000', 'RTXA6000'],
    ['karpenter.k8s.aws/instance-gpu-name', 'a10g', 'A10G'],
    ['karpenter.k8s.aws/instance-gpu-name', 'l40s', 'L40S'],
    ['nebius.com/gpu-name', 'H200', 'H200'],
    ['amd.com/gpu.product-name', 'AMD_Instinct_MI300X_OAM', 'MI300X'],
    ['amd.com/gpu.product-name', 'AMD_Instinct_MI300X', 'MI300X'],
    ['amd.com/gpu.product-name', 'AMD_Instinct_MI250X_MI250', 'MI250X'],
    ['amd.com/gpu.product-name', 'AMD_Radeon_RX_7900_XTX', 'RX7900XTX'],
    ['amd.com/gpu.product-name', 'AMD_Radeon_Pro_W7900', 'Radeon-Pro-W7900'],
  ])('%s=%s → %s', (key, value, name) => {
    expect(matchGpuLabel({ [key]: value })?.name).toBe(name);
  });

  it('unknown values and non-GPU labels name nothing', () => {
    expect(canonicalFromLabel('NVIDIA-Frobnicator-9000')).toBeUndefined();
    expect(canonicalFromLabel('')).toBeUndefined();
    expect(matchGpuLabel({ 'kubernetes.io/hostname': 'a100-box' })).toBeUndefined();
  });
});

describe('mixed NVIDIA + AMD clusters (seed 003)', () => {
  const nodes = mixedCluster();

  it('493fb1f: a node counts GPUs from amd.com/gpu as well as nvidia.com/gpu', () => {
    expect(nodeGpu(nodes[0]!)).toMatchObject({ name: 'MI300X', vendor: 'amd', resourceKey: 'amd.com/gpu', allocatable: 8 });
    expect(nodeGpu(nodes[1]!)).toMatchObject({ name: 'A100', vendor: 'nvidia', resourceKey: 'nvidia.com/gpu', allocatable: 8 });
    expect(nodeGpu(nodes[3]!)).toBeUndefined();
  });

  it('9cd2668/b35db4a: AMD nodes are found from amd.com/gpu.product-name, every formatter on every node', () => {
    const rows = gpuNodeRows('ctx', nodeUsage(nodes, []));
    expect(rows.map((r) => [r.node, r.gpu, r.vendor, r.source, r.total])).toEqual([
      ['amd-mi300x', 'MI300X', 'amd', 'amd.com/gpu.product-name', 8],
      ['nv-a100', 'A100', 'nvidia', 'nvidia.com/gpu.product', 8],
      ['gke-l4', 'L4', 'nvidia', 'cloud.google.com/gke-accelerator', 1],
      ['cpu-1', '-', '-', '-', 0],
    ]);
    // iGPU-only / single-key AMD nodes are ordinary GPU nodes (b35db4a dropped special cases).
    expect(nodeGpu(node('apu', { labels: { 'amd.com/gpu.product-name': 'AMD_Radeon_Pro_W7800' }, gpus: { 'amd.com/gpu': '1' } }))?.name).toBe('Radeon-Pro-W7800');
  });

  it('f65b71f: an NVIDIA request in a mixed cluster gets nvidia.com/gpu, whatever the node order', () => {
    for (const order of [nodes, [...nodes].reverse()]) {
      expect(gpuPlacement(order, 'A100')).toEqual({ resourceKey: 'nvidia.com/gpu', terms: [{ key: 'nvidia.com/gpu.product', values: ['NVIDIA-A100-SXM4-40GB'] }] });
      expect(gpuPlacement(order, 'L4')).toEqual({ resourceKey: 'nvidia.com/gpu', terms: [{ key: 'cloud.google.com/gke-accelerator', values: ['nvidia-l4'] }] });
      expect(gpuPlacement(order, 'MI300X')).toEqual({ resourceKey: 'amd.com/gpu', terms: [{ key: 'amd.com/gpu.product-name', values: ['AMD_Instinct_MI300X_OAM'] }] });
    }
  });

  it('f65b71f: a vendor-neutral label (skypilot.co/accelerator) takes the key the node advertises', () => {
    const n = node('amd-sky', { labels: { 'skypilot.co/accelerator': 'mi300x' }, gpus: { 'amd.com/gpu': '8' } });
    expect(gpuPlacement([n, ...nodes], 'MI300X')?.resourceKey).toBe('amd.com/gpu');
    // With no capacity advertised yet (an autoscaled node), the registry's vendor decides.
    const bare = node('amd-bare', { labels: { 'skypilot.co/accelerator': 'mi300x' } });
    expect(nodeGpu(bare)?.resourceKey).toBe('amd.com/gpu');
    expect(nodeGpu(node('nv-bare', { labels: { 'skypilot.co/accelerator': 'h100' } }))?.resourceKey).toBe('nvidia.com/gpu');
  });

  it('e9581a9: the same GPU under two label keys gives two ORed terms; an absent GPU gives no placement', () => {
    const gke = node('gke-a100', { labels: { 'cloud.google.com/gke-accelerator': 'nvidia-tesla-a100' }, gpus: { 'nvidia.com/gpu': '2' } });
    expect(gpuPlacement([...nodes, gke], 'A100')?.terms).toEqual([
      { key: 'nvidia.com/gpu.product', values: ['NVIDIA-A100-SXM4-40GB'] },
      { key: 'cloud.google.com/gke-accelerator', values: ['nvidia-tesla-a100'] },
    ]);
    expect(gpuPlacement(nodes, 'H100')).toBeUndefined();
  });

  it('57c8ba2: GPUs of running pods are read from whichever vendor key they requested', () => {
    const nvPod = pod('nv', 'nv-a100', { cpu: '4', gpus: { 'nvidia.com/gpu': '2' } });
    const amdPod = pod('amd', 'amd-mi300x', { cpu: '4', gpus: { 'amd.com/gpu': '3' } });
    expect(podGpus(nvPod)).toEqual({ count: 2, resourceKey: 'nvidia.com/gpu' });
    expect(podGpus(amdPod)).toEqual({ count: 3, resourceKey: 'amd.com/gpu' });
    const usage = nodeUsage(nodes, [nvPod, amdPod, pod('done', 'nv-a100', { gpus: { 'nvidia.com/gpu': '4' } }, 'Succeeded')]);
    expect(usage.map((u) => [u.name, u.gpusUsed, u.freeGpus])).toEqual([
      ['amd-mi300x', 3, 5],
      ['nv-a100', 2, 6],
      ['gke-l4', 0, 1],
      ['cpu-1', 0, 0],
    ]);
  });
});

describe('capacity', () => {
  it('parses quantities', () => {
    expect([parseCpu('500m'), parseCpu('2'), parseCpu('1.5'), parseCpu(undefined)]).toEqual([0.5, 2, 1.5, 0]);
    expect(parseBytes('16Gi')).toBe(16 * 2 ** 30);
    expect(parseBytes('1000Mi')).toBe(1000 * 2 ** 20);
    expect(parseBytes('1G')).toBe(1e9);
    expect(parseBytes('128974848')).toBe(128974848);
    expect(parseBytes('1e3')).toBe(1000);
    expect(parseBytes('512Ki')).toBe(512 * 1024);
  });

  it('free = allocatable minus requests of bound, unfinished pods; init containers by their max', () => {
    const n = node('n', { cpu: '8', memory: '32Gi' });
    const p = pod('p', 'n', { cpu: '1500m', memory: '4Gi' });
    p.spec!.initContainers = [{ name: 'i', resources: { requests: { cpu: '3', memory: '1Gi' } } }];
    const pending = pod('q', undefined, { cpu: '4' }, 'Pending');
    const [u] = nodeUsage([n], [p, pending]);
    expect(u).toMatchObject({ freeCpus: 5, freeMemoryGiB: 28 });
  });

  it('counts how many pods of a size fit now, per node, honouring the GPU type', () => {
    const nodes = mixedCluster();
    const usage = nodeUsage(nodes, [pod('busy', 'nv-a100', { cpu: '60', gpus: { 'nvidia.com/gpu': '1' } })]);
    expect(podsThatFit(usage, { accelerator: 'MI300X', gpus: 1 })).toBe(8);
    expect(podsThatFit(usage, { accelerator: 'MI300X', gpus: 8 })).toBe(1);
    expect(podsThatFit(usage, { accelerator: 'A100', gpus: 1 })).toBe(1); // 4 CPUs left on that node
    expect(podsThatFit(usage, { accelerator: 'A100', gpus: 1, cpus: 1, memoryGiB: 1 })).toBe(4);
    expect(podsThatFit(usage, { accelerator: 'H100', gpus: 1 })).toBe(0);
    // CPU pods only prefer CPU nodes: GPU nodes with room count too (8 on the MI300X node).
    expect(podsThatFit(usage, { cpus: 16, memoryGiB: 64 })).toBe(10);
    const cordoned = nodeUsage([node('c', { unschedulable: true })], []);
    expect(podsThatFit(cordoned, { cpus: 1 })).toBe(0);
  });

  it('one live offering per context: largest free node, free GPUs per type, and an exact fit', () => {
    const o = contextOffering('mixed', nodeUsage(mixedCluster(), []))!;
    expect(o).toMatchObject({ cloud: 'kubernetes', region: 'mixed', resources: { cpus: 128, memoryGiB: 1024, accelerators: { MI300X: 8, A100: 8, L4: 1 } } });
    expect(podsThatFit(o.fitNodes!, { accelerator: 'L4', gpus: 1 })).toBe(1);
    expect(podsThatFit(o.fitNodes!, { accelerator: 'L4', gpus: 1, cpus: 16 })).toBe(1);
    expect(podsThatFit(o.fitNodes!, { accelerator: 'L4', gpus: 1, cpus: 17 })).toBe(0);
    // offerings go to the planning worker by structured clone: plain data only (a closure threw there)
    expect(podsThatFit(structuredClone(o).fitNodes!, { accelerator: 'MI300X', gpus: 8 })).toBe(1);
    expect(gpuSummary('mixed', nodeUsage(mixedCluster(), []))).toEqual([
      { context: 'mixed', gpu: 'A100', vendor: 'nvidia', requestable: [1, 2, 4, 8], total: 8, free: 8 },
      { context: 'mixed', gpu: 'L4', vendor: 'nvidia', requestable: [1], total: 1, free: 1 },
      { context: 'mixed', gpu: 'MI300X', vendor: 'amd', requestable: [1, 2, 4, 8], total: 8, free: 8 },
    ]);
  });
});
