// Reading pods (scheduling, image pulls, failures, losses), exec statuses, endpoints and the
// effective kubernetes config: the pure parts of the provider's decisions.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseExecStatus } from '../../src/providers/kubernetes/exec.js';
import { headPod, serviceEndpoints } from '../../src/providers/kubernetes/endpoints.js';
import { lossReason, podState } from '../../src/providers/kubernetes/pod-status.js';
import { effectiveKubernetesConfig, parseTaskKubernetesConfig } from '../../src/spec/kubernetes-config.js';

const pod = (status: V1Pod['status'], extra: Partial<V1Pod> = {}): V1Pod => ({
  metadata: { name: 'c-u-head', labels: { 'aloft.dev/rank': '0' } },
  spec: { containers: [{ name: 'aloft', image: 'vllm/vllm-openai:v9' }], initContainers: [{ name: 'aloft-runtime', image: 'node:20-bookworm-slim' }] },
  status,
  ...extra,
});

describe('pod states', () => {
  it('running, unschedulable (with the scheduler message), pending', () => {
    expect(podState(pod({ phase: 'Running', containerStatuses: [{ name: 'aloft', image: 'x', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] }))).toEqual({ kind: 'running' });
    const msg = '0/4 nodes are available: 1 Insufficient amd.com/gpu, 3 node(s) didn\'t match Pod\'s node affinity/selector.';
    expect(podState(pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: msg }] }))).toEqual({ kind: 'unschedulable', message: msg });
    expect(podState(pod({ phase: 'Pending' }))).toEqual({ kind: 'pending', message: 'waiting for the scheduler' });
  });

  it('an image that cannot be pulled names the image — the task\'s or the runtime\'s', () => {
    const waiting = (name: string, reason: string) => ({ name, image: '', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason, message: 'pull access denied' } } });
    expect(podState(pod({ phase: 'Pending', containerStatuses: [waiting('aloft', 'ImagePullBackOff')] }))).toEqual({
      kind: 'image',
      image: 'vllm/vllm-openai:v9',
      reason: 'ImagePullBackOff',
      message: 'pull access denied',
    });
    expect(podState(pod({ phase: 'Pending', initContainerStatuses: [waiting('aloft-runtime', 'ErrImagePull')] }))).toMatchObject({ kind: 'image', image: 'node:20-bookworm-slim' });
  });

  it('failures and losses say what happened in one line', () => {
    expect(podState(pod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' }))).toEqual({
      kind: 'failed',
      message: 'pod c-u-head failed (Evicted: The node was low on resource: memory.)',
    });
    expect(lossReason(undefined, 'c-u-head')).toBe('pod c-u-head was deleted');
    expect(lossReason(pod({ phase: 'Running' }), 'c-u-head', 'DELETED')).toBe('pod c-u-head was deleted');
    expect(lossReason(pod({ phase: 'Failed', reason: 'Evicted', message: 'low on memory' }), 'c-u-head')).toBe('pod c-u-head was evicted: low on memory');
    expect(lossReason(pod({ phase: 'Running' }), 'c-u-head')).toBeUndefined();
    expect(lossReason(pod({ phase: 'Running' }, { metadata: { name: 'c-u-head', deletionTimestamp: new Date() } }), 'c-u-head')).toBe('pod c-u-head is being deleted');
  });
});

describe('exec status (channel 3)', () => {
  it('maps V1Status to exit codes', () => {
    expect(parseExecStatus('{"status":"Success"}')).toEqual({ code: 0 });
    expect(parseExecStatus('{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"7"}]}}')).toEqual({ code: 7 });
    expect(parseExecStatus('{"status":"Failure","message":"exec: \\"bash\\": executable file not found in $PATH"}')).toEqual({
      code: 126,
      message: 'exec: "bash": executable file not found in $PATH',
    });
  });
});

describe('endpoints', () => {
  it('f3b4561: the head pod is found by its rank label, whatever its name', () => {
    const renamed = pod({ phase: 'Running', podIP: '10.1.2.3' }, { metadata: { name: 'deployment-7f9c-xyz', labels: { 'aloft.dev/rank': '0' } } });
    const worker = pod({ phase: 'Running', podIP: '10.1.2.4' }, { metadata: { name: 'c-u-worker1', labels: { 'aloft.dev/rank': '1' } } });
    expect(headPod([worker, renamed])?.status?.podIP).toBe('10.1.2.3');
  });

  it('NodePort on a node address, LoadBalancer on its ingress (or pending)', () => {
    const svc = (type: string, lb?: object) => ({ spec: { type, ports: [{ port: 8888, nodePort: 31000 }] }, status: lb ? { loadBalancer: lb } : {} });
    expect(serviceEndpoints(svc('NodePort'), '10.0.0.5', [8888])).toEqual({ 8888: '10.0.0.5:31000' });
    expect(serviceEndpoints(svc('LoadBalancer', { ingress: [{ ip: '34.1.2.3' }] }), undefined, [8888])).toEqual({ 8888: '34.1.2.3:8888' });
    expect(serviceEndpoints(svc('LoadBalancer'), undefined, [8888])).toEqual({ 8888: '(load balancer pending)' });
  });
});

describe('effective kubernetes config', () => {
  it('layers global, per-context and task settings; pod_configs merge in that order', () => {
    const global = { namespace: 'ml', provisionTimeoutSeconds: 10, podConfig: { spec: { a: 1 } }, contextConfigs: { west: { namespace: 'west', podConfig: { spec: { b: 2 } } } } };
    const task = parseTaskKubernetesConfig({ provision_timeout: 30, pod_config: { spec: { c: 3 } } });
    expect(effectiveKubernetesConfig(global, 'west', task)).toMatchObject({ namespace: 'west', provisionTimeoutSeconds: 30, podConfigs: [{ spec: { a: 1 } }, { spec: { b: 2 } }, { spec: { c: 3 } }] });
    expect(effectiveKubernetesConfig(global, 'east', undefined)).toMatchObject({ namespace: 'ml', provisionTimeoutSeconds: 10 });
  });

  it("a task's config.kubernetes is checked, one line naming the key", () => {
    expect(() => parseTaskKubernetesConfig({ provision_timout: 3 }, 'train.yaml')).toThrow("train.yaml: config.kubernetes: unknown field 'provision_timout'");
    expect(() => parseTaskKubernetesConfig({ ports: 'ingress' }, 'train.yaml')).toThrow(/^train\.yaml: config\.kubernetes\.ports: expected 'nodeport', 'loadbalancer' or 'podip'/);
    expect(parseTaskKubernetesConfig({ enable_docker: true })).toEqual({});
  });
});
