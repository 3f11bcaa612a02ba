// The fake scheduler's filters and its FailedScheduling text, against the real scheduler's
// behaviour (first failing filter per node, reasons counted and sorted as "N reason" strings,
// the preemption suffix), and the selector parsers the list/watch endpoints use.
import { describe, expect, it } from 'vitest';
import { A100_NODE, CPU_NODE, L4_GKE_NODE, MI300X_NODE, nodeObject, type NodeSpec } from './fixtures.js';
import { schedule } from './scheduler.js';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';
import type { KObj } from './store.js';

const nodes = (specs: NodeSpec[]) => specs.map((s, i) => nodeObject(s, `127.0.0.${i + 2}`));
const mixed = nodes([A100_NODE(), MI300X_NODE(), L4_GKE_NODE(), CPU_NODE()]);

function pod(spec: Record<string, unknown>, resources: Record<string, string> = {}, nodeName?: string): KObj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default' },
    spec: { containers: [{ name: 'c', image: 'x', resources: { requests: resources, limits: resources } }], ...(nodeName ? { nodeName } : {}), ...spec },
    status: { phase: nodeName ? 'Running' : 'Pending' },
  };
}

const amdAffinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'amd.com/gpu.product-name', operator: 'In', values: ['AMD_Instinct_MI300X_OAM'] }] }] } } };

describe('fake scheduler', () => {
  it('puts a CPU pod without tolerations on the only untainted node', () => {
    expect(schedule(pod({}, { cpu: '2' }), mixed, [])).toEqual({ node: 'cpu-0' });
  });

  it('puts GPU pods on the vendor node their selector/affinity and toleration allow', () => {
    const a100 = pod({ nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-80GB' }, tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists' }] }, { 'nvidia.com/gpu': '1' });
    expect(schedule(a100, mixed, [])).toEqual({ node: 'gpu-a100-0' });
    const mi = pod({ affinity: amdAffinity, tolerations: [{ key: 'amd.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] }, { 'amd.com/gpu': '8' });
    expect(schedule(mi, mixed, [])).toEqual({ node: 'gpu-mi300x-0' });
    // The L4 node's GKE taint has a value; Equal needs it, Exists does not.
    const l4 = (op: Record<string, string>) => pod({ nodeSelector: { 'cloud.google.com/gke-accelerator': 'nvidia-l4' }, tolerations: [{ key: 'nvidia.com/gpu', ...op }] }, { 'nvidia.com/gpu': '1' });
    expect(schedule(l4({ operator: 'Equal', value: 'present' }), mixed, [])).toEqual({ node: 'gke-l4-pool-0' });
    expect(schedule(l4({ operator: 'Equal', value: 'other' }), mixed, [])).toHaveProperty('message');
  });

  it('counts the requests of pods already on a node', () => {
    const mi = (name: string, n: string, bound?: string) => ({ ...pod({ affinity: amdAffinity, tolerations: [{ operator: 'Exists' }] }, { 'amd.com/gpu': n }, bound), metadata: { name, namespace: 'default' } });
    const running = [mi('a', '6', 'gpu-mi300x-0')];
    expect(schedule(mi('b', '2'), mixed, running)).toEqual({ node: 'gpu-mi300x-0' });
    expect(schedule(mi('b', '3'), mixed, running)).toEqual({
      message:
        "0/4 nodes are available: 1 Insufficient amd.com/gpu, 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/4 nodes are available: 1 No preemption victims found for incoming pod, 3 Preemption is not helpful for scheduling.",
    });
    // finished pods hold nothing
    const done = [{ ...running[0]!, status: { phase: 'Succeeded' } }];
    expect(schedule(mi('b', '8'), mixed, done)).toEqual({ node: 'gpu-mi300x-0' });
  });

  it('reports each node under the first filter it fails, taints before affinity, and every insufficient resource', () => {
    const p = pod({}, { cpu: '100', memory: '2Ti' });
    expect(schedule(p, mixed, [])).toEqual({
      message:
        '0/4 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 node(s) had untolerated taint {amd.com/gpu: }, 1 node(s) had untolerated taint {nvidia.com/gpu: present}, 1 node(s) had untolerated taint {nvidia.com/gpu: }. preemption: 0/4 nodes are available: 1 No preemption victims found for incoming pod, 3 Preemption is not helpful for scheduling.',
    });
    const cordoned = nodes([{ ...CPU_NODE(), unschedulable: true }]);
    expect(schedule(pod({}), cordoned, [])).toHaveProperty('message', '0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.');
  });

  it('matches NotIn, Exists and DoesNotExist terms, and ORs the terms', () => {
    const aff = (exprs: unknown[][]) => ({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: exprs.map((e) => ({ matchExpressions: e })) } } });
    const tol = [{ operator: 'Exists' }];
    const place = (a: unknown) => (schedule(pod({ affinity: a, tolerations: tol }, { cpu: '1' }), mixed, []) as { node?: string }).node;
    expect(place(aff([[{ key: 'nvidia.com/gpu.product', operator: 'Exists' }]]))).toBe('gpu-a100-0');
    expect(place(aff([[{ key: 'cloud.google.com/gke-accelerator', operator: 'Exists' }, { key: 'cloud.google.com/gke-accelerator', operator: 'NotIn', values: ['nvidia-l4'] }]]))).toBeUndefined();
    expect(place(aff([[{ key: 'nope', operator: 'Exists' }], [{ key: 'amd.com/gpu.product-name', operator: 'Exists' }]]))).toBe('gpu-mi300x-0');
    expect(place(aff([[{ key: 'nvidia.com/gpu.present', operator: 'DoesNotExist' }, { key: 'amd.com/gpu.product-name', operator: 'DoesNotExist' }, { key: 'cloud.google.com/gke-accelerator', operator: 'DoesNotExist' }]]))).toBe('cpu-0');
  });
});

describe('selectors', () => {
  it('parses and matches label selectors like the API server', () => {
    const l = { app: 'web', tier: 'front', 'aloft.dev/cluster': 'c1' };
    const m = (s: string) => matchLabels(parseLabelSelector(s), l);
    expect(m('app=web,tier==front')).toBe(true);
    expect(m('app!=web')).toBe(false);
    expect(m('app in (db, web),aloft.dev/cluster')).toBe(true);
    expect(m('tier notin (front)')).toBe(false);
    expect(m('!legacy,missing!=x')).toBe(true);
    expect(() => parseLabelSelector('app=we b')).toThrow(SelectorError);
  });

  it('refuses field selectors the resource does not support, and matches the supported ones', () => {
    const p = { metadata: { name: 'x', namespace: 'd' }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } };
    expect(matchFields(parseFieldSelector('metadata.name=x,status.phase!=Pending,spec.nodeName==n1', 'pods'), p)).toBe(true);
    expect(matchFields(parseFieldSelector('spec.nodeName=', 'pods'), p)).toBe(false);
    expect(() => parseFieldSelector('spec.containers=x', 'pods')).toThrow('field label not supported: spec.containers');
  });
});
