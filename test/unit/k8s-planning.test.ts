// Planning over kubernetes contexts: each context is one live offering whose `fit` counts the pods
// of exactly the task's size that fit now (pods pack onto nodes); docker images keep a task on
// kubernetes; a memory request picks the GPU type that has the memory.
import { describe, expect, it } from 'vitest';
import { contextOffering, nodeUsage } from '../../src/providers/kubernetes/capacity.js';
import { planTask } from '../../src/optimizer/plan.js';
import type { OptimizeContext } from '../../src/optimizer/types.js';
import type { ResourcesSpec, Task } from '../../src/spec/types.js';
import { mixedCluster, node, pod } from '../helpers/k8s-nodes.js';

const rs = (o: Partial<ResourcesSpec> = {}): ResourcesSpec => ({ infra: { cloud: 'kubernetes' }, useSpot: false, ports: [], labels: {}, ...o });
const task = (r: ResourcesSpec, numNodes = 1): Task => ({ numNodes, resources: { mode: 'single', candidates: [r] }, envs: {}, secrets: {}, fileMounts: [] });

function ctxOf(...offerings: Array<ReturnType<typeof contextOffering>>): OptimizeContext {
  return {
    usableClouds: ['local', 'kubernetes'],
    liveOfferings: offerings.filter((o): o is NonNullable<typeof o> => Boolean(o)),
    provisionable: ['local', 'ssh', 'kubernetes'],
  } as OptimizeContext;
}

describe('planning over kubernetes contexts', () => {
  const busy = contextOffering('busy', nodeUsage(mixedCluster(), [pod('x', 'amd-mi300x', { cpu: '8', gpus: { 'amd.com/gpu': '7' } })]));
  const idle = contextOffering('idle', nodeUsage(mixedCluster(), []));

  it('a gang job goes where enough pods of its size fit now', () => {
    const two = planTask(task(rs({ accelerators: [{ name: 'MI300X', count: 1 }] }), 2), ctxOf(busy, idle));
    expect(two.chosen.region).toBe('idle');
    const busyRow = two.considered.find((r) => r.region === 'busy');
    expect(busyRow?.excluded).toBe('room for 1 of 2 node(s) now');
    // Two CPU pods fit on one CPU node: nodes of a task are pods, not machines.
    const cpu = contextOffering('one-node', nodeUsage([node('cpu', { cpu: '16', memory: '64Gi' })], []));
    expect(planTask(task(rs({ cpus: { value: 2, atLeast: false } }), 4), ctxOf(cpu)).chosen.region).toBe('one-node');
    expect(() => planTask(task(rs({ cpus: { value: 8, atLeast: false } }), 4), ctxOf(cpu))).toThrow(/room for 2 of 4 node\(s\) now/);
  });

  it('names every GPU type of a context when none is the one asked for', () => {
    expect(() => planTask(task(rs({ accelerators: [{ name: 'H100', count: 1 }] })), ctxOf(idle))).toThrow(/kubernetes\/idle: has MI300X:8, A100:8, L4:1, not H100:1/);
  });

  it('a memory request ("48GB+") picks a GPU type with that much memory', () => {
    const p = planTask(task(rs({ accelerators: [{ name: '48GB+', count: 1 }] })), ctxOf(idle));
    expect(p.chosen.accelerators).toEqual({ name: 'MI300X', count: 1 });
  });

  it('a docker image keeps the task on kubernetes (local cannot run it yet)', () => {
    const t = task(rs({ infra: {}, imageId: 'docker:vllm/vllm-openai:latest' }));
    const local = { cloud: 'local', region: 'local', resources: { cpus: 64, memoryGiB: 256, accelerators: {} }, available: 1 };
    const ctx = ctxOf(idle);
    ctx.liveOfferings.push(local);
    ctx.allowedInfra = ['local', 'kubernetes'];
    expect(planTask(t, ctx).chosen.cloud).toBe('kubernetes');
    ctx.liveOfferings = [local];
    expect(() => planTask(t, ctx)).toThrow(/local: docker images \(image_id: docker:\.\.\.\) run on kubernetes only for now/);
  });
});
