// The pods and services aloft sends to the API server (pure builders; the e2e tests send them
// through the real SDK to the fake).
import { describe, expect, it } from 'vitest';
import { gpuPlacement } from '../../src/providers/kubernetes/gpu-labels.js';
import { buildPod, buildService, expandPorts, mergePodConfig, podName, taskImage, type PodInput } from '../../src/providers/kubernetes/pod-spec.js';
import { mixedCluster } from '../helpers/k8s-nodes.js';

const base: PodInput = {
  cluster: 'train',
  uid: 'abc123def456',
  rank: 0,
  namespace: 'ml',
  image: 'python:3.11-slim-bookworm',
  runtimeImage: 'node:20-bookworm-slim',
  cpus: 2,
  memoryGiB: 2,
  gpus: 0,
};

describe('pods', () => {
  it("are named and labelled like SkyPilot's, owned by labels", () => {
    expect(podName('train', 'abc123def456', 0)).toBe('train-abc123def456-head');
    expect(podName('train', 'abc123def456', 2)).toBe('train-abc123def456-worker2');
    const p = buildPod({ ...base, rank: 1, labels: { team: 'infra' } });
    expect(p.metadata).toMatchObject({
      name: 'train-abc123def456-worker1',
      namespace: 'ml',
      labels: {
        team: 'infra',
        'app.kubernetes.io/managed-by': 'aloft',
        'aloft.dev/cluster': 'train',
        'aloft.dev/cluster-uid': 'abc123def456',
        'aloft.dev/rank': '1',
        'aloft.dev/role': 'worker',
      },
    });
  });

  it("bring Node.js in with an init container and leave the user's image untouched", () => {
    const p = buildPod({ ...base, image: 'rocm/pytorch-training:v25.6' });
    const [init] = p.spec!.initContainers!;
    const [main] = p.spec!.containers;
    expect(init!.image).toBe('node:20-bookworm-slim');
    expect(init!.command!.join(' ')).toContain('cp --reflink=auto "$n" /aloft/bin/node');
    expect(main!.image).toBe('rocm/pytorch-training:v25.6');
    expect(main!.volumeMounts).toContainEqual({ name: 'aloft-runtime', mountPath: '/aloft' });
    expect(init!.volumeMounts).toEqual([{ name: 'aloft-runtime', mountPath: '/aloft' }]);
    expect(p.spec!.volumes).toContainEqual({ name: 'dshm', emptyDir: { medium: 'Memory' } });
    expect(p.spec!.restartPolicy).toBe('Never');
  });

  it('CPU pods: requests only, no tolerations, and a preference for nodes without GPU labels', () => {
    const p = buildPod({ ...base, cpus: 0.5, memoryGiB: 1.5 });
    expect(p.spec!.containers[0]!.resources).toEqual({ requests: { cpu: '0.5', memory: '1536Mi' } });
    expect(p.spec!.tolerations).toBeUndefined();
    const pref = p.spec!.affinity!.nodeAffinity!.preferredDuringSchedulingIgnoredDuringExecution![0]!;
    expect(pref.preference.matchExpressions!.map((e) => `${e.key} ${e.operator}`)).toContain('amd.com/gpu.product-name DoesNotExist');
    expect(pref.preference.matchExpressions!.map((e) => `${e.key} ${e.operator}`)).toContain('nvidia.com/gpu.product DoesNotExist');
    expect(p.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
  });

  it('e9581a9 + f65b71f: in a mixed cluster each pod requests, limits and tolerates its own vendor key', () => {
    const nodes = mixedCluster();
    const amd = buildPod({ ...base, gpus: 1, gpu: gpuPlacement(nodes, 'MI300X') });
    const nv = buildPod({ ...base, gpus: 2, gpu: gpuPlacement(nodes, 'A100') });
    expect(amd.spec!.containers[0]!.resources).toMatchObject({ requests: { 'amd.com/gpu': '1' }, limits: { 'amd.com/gpu': '1' } });
    expect(JSON.stringify(amd)).not.toContain('nvidia.com/gpu"');
    expect(amd.spec!.tolerations).toContainEqual({ key: 'amd.com/gpu', operator: 'Exists', effect: 'NoSchedule' });
    expect(nv.spec!.containers[0]!.resources).toMatchObject({ requests: { 'nvidia.com/gpu': '2' }, limits: { 'nvidia.com/gpu': '2' } });
    expect(JSON.stringify(nv)).not.toContain('amd.com/gpu"');
    expect(nv.spec!.tolerations).toContainEqual({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' });
    expect(nv.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'nvidia.com/gpu.product', operator: 'In', values: ['NVIDIA-A100-SXM4-40GB'] }] },
    ]);
  });

  it('37a0b54: node-affinity values are strings even when a label value arrived as a number', () => {
    // A YAML/JSON round trip turns `label: 1` into a number; the API server rejects numbers there.
    const p = buildPod({ ...base, gpus: 1, gpu: { resourceKey: 'amd.com/gpu', terms: [{ key: 'amd.com/gpu.product-name.X', values: [1 as unknown as string] }] } });
    const values = p.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0]!.matchExpressions![0]!.values!;
    expect(values).toEqual(['1']);
    expect(JSON.stringify(p)).toContain('"values":["1"]');
  });

  it('image_id: docker:IMAGE (or a bare image name) is the container image; a mapping picks by context', () => {
    expect(taskImage('docker:vllm/vllm-openai:latest', 'c', 'dflt')).toBe('vllm/vllm-openai:latest');
    expect(taskImage('ghcr.io/coreweave/nccl-tests:12.8', 'c', 'dflt')).toBe('ghcr.io/coreweave/nccl-tests:12.8');
    expect(taskImage({ a: 'docker:x:1', c: 'docker:y:2' }, 'c', 'dflt')).toBe('y:2');
    expect(taskImage(undefined, 'c', 'dflt')).toBe('dflt');
  });
});

describe('pod_config merge (SkyPilot-style)', () => {
  it('merges mappings, the first container into ours, named lists by name, and appends tolerations', () => {
    const p = buildPod({
      ...base,
      gpus: 1,
      gpu: gpuPlacement(mixedCluster(), 'A100'),
      podConfigs: [
        {
          metadata: { labels: { 'aloft.dev/cluster': 'hijack', extra: 'yes' }, annotations: { a: 'b' } },
          spec: {
            imagePullSecrets: [{ name: 'regcred' }],
            tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoSchedule' }],
            containers: [{ env: [{ name: 'HF_HOME', value: '/cache' }], volumeMounts: [{ name: 'cache', mountPath: '/cache' }] }, { name: 'sidecar', image: 'busybox' }],
            volumes: [{ name: 'cache', persistentVolumeClaim: { claimName: 'hf' } }, { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '8Gi' } }],
          },
        },
      ],
    });
    expect(p.metadata!.labels).toMatchObject({ 'aloft.dev/cluster': 'train', extra: 'yes' });
    expect(p.metadata!.annotations).toEqual({ a: 'b' });
    const [main, side] = p.spec!.containers;
    expect(main!.name).toBe('aloft');
    expect(main!.env).toEqual([{ name: 'HF_HOME', value: '/cache' }]);
    expect(main!.volumeMounts!.map((m) => m.name)).toEqual(['aloft-runtime', 'dshm', 'cache']);
    expect(side).toEqual({ name: 'sidecar', image: 'busybox' });
    expect(p.spec!.volumes).toContainEqual({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '8Gi' } });
    expect(p.spec!.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(p.spec!.tolerations!.map((t) => t.key)).toEqual(['nvidia.com/gpu', 'sku', 'dedicated']);
  });

  it('a required node affinity from pod_config narrows the GPU one instead of widening it', () => {
    const merged = mergePodConfig(
      { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'gpu', operator: 'In', values: ['a'] }] }] } } } } },
      { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] }] } } } } },
    );
    expect(JSON.stringify(merged)).toBe(
      JSON.stringify({ spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'gpu', operator: 'In', values: ['a'] }, { key: 'zone', operator: 'In', values: ['z1'] }] }] } } } } }),
    );
  });
});

describe('ports', () => {
  it('expands ranges and builds a NodePort service selecting the head pod by labels', () => {
    expect(expandPorts(['8080', '9000-9002', 22 as unknown as string])).toEqual([22, 8080, 9000, 9001, 9002]);
    expect(() => expandPorts(['http'])).toThrow(/not a port/);
    const s = buildService({ cluster: 'c', uid: 'u1', namespace: 'ns', ports: [8080], type: 'NodePort' });
    expect(s.metadata!.name).toBe('c-u1-ports');
    // f3b4561: found by labels, not by the head pod's name.
    expect(s.spec!.selector).toEqual({ 'aloft.dev/cluster-uid': 'u1', 'aloft.dev/rank': '0' });
    expect(s.spec!.ports).toEqual([{ name: 'port-8080', port: 8080, targetPort: 8080, protocol: 'TCP' }]);
  });
});
