// The control plane around the store: the scheduler (binds pods, or leaves them Pending with
// PodScheduled=False/Unschedulable and a FailedScheduling event), the kubelet (one PodRunner per
// bound pod, for every node — all nodes are this machine), pod garbage collection for deleted
// nodes, and namespace deletion. Everything reacts to store changes asynchronously, so watch
// events always leave in resourceVersion order.
import type { FakeContext } from './context.js';
import { PodRunner } from './pod-runner.js';
import { schedule } from './scheduler.js';
import { now, type Change, type KObj } from './store.js';

const terminal = (p: KObj) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

export class ControlPlane {
  readonly runners = new Map<string, PodRunner>();
  private readonly pulled = new Set<string>();
  private readonly lastUnschedulable = new Map<string, string>();
  private passQueued = false;
  private unsubscribe?: () => void;
  private stopped = false;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly ctx: FakeContext) {}

  start(): void {
    this.unsubscribe = this.ctx.store.subscribe((c) => queueMicrotask(() => this.onChange(c)));
    this.queuePass();
    for (const p of this.ctx.store.list('pods')) this.onPod({ type: 'ADDED', resource: 'pods', object: p, rv: 0 });
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private onChange(c: Change): void {
    if (this.stopped) return;
    if (c.resource === 'pods') this.onPod(c);
    if (c.resource === 'nodes') {
      this.queuePass();
      if (c.type === 'DELETED') for (const p of this.ctx.store.list('pods')) if (p.spec.nodeName === c.object.metadata.name) this.ctx.store.remove('pods', p.metadata.namespace, p.metadata.name);
    }
    if (c.resource === 'namespaces' && c.object.metadata.deletionTimestamp && c.type !== 'DELETED') this.track(this.deleteNamespace(c.object.metadata.name));
  }

  private onPod(c: Change): void {
    const p = c.object;
    const uid = p.metadata.uid!;
    const runner = this.runners.get(uid);
    if (c.type === 'DELETED') {
      this.lastUnschedulable.delete(uid);
      if (runner) this.track(this.stopRunner(runner, 0));
      this.queuePass();
      return;
    }
    if (!p.spec.nodeName) {
      if (c.type === 'ADDED') this.queuePass();
      return;
    }
    if (terminal(p)) this.queuePass();
    if (p.metadata.deletionTimestamp) {
      if (runner) this.track(this.stopRunner(runner, p.metadata.deletionGracePeriodSeconds ?? 30, true));
      else if (!this.ctx.store.get('nodes', undefined, p.spec.nodeName) || terminal(p)) this.ctx.store.remove('pods', p.metadata.namespace, p.metadata.name);
      return;
    }
    if (!runner && !terminal(p) && this.ctx.store.get('nodes', undefined, p.spec.nodeName)) {
      const r = new PodRunner(this.ctx, p, p.spec.nodeName, this.pulled);
      this.runners.set(uid, r);
      r.start();
    }
  }

  private stopping = new Map<PodRunner, Promise<void>>();

  private stopRunner(r: PodRunner, grace: number, removeAfter = false): Promise<void> {
    const existing = this.stopping.get(r);
    if (existing) {
      if (grace === 0) void r.terminate(0); // a force delete cuts a graceful one short
      return existing;
    }
    const p = (async () => {
      await r.terminate(grace);
      if (removeAfter) {
        const cur = this.ctx.store.get('pods', r.ns, r.name);
        if (cur?.metadata.uid === r.uid) this.ctx.store.remove('pods', r.ns, r.name);
      }
      r.cleanup();
      this.runners.delete(r.uid);
    })();
    this.stopping.set(r, p);
    void p.finally(() => this.stopping.delete(r));
    return p;
  }

  /** Kubelet-style eviction (node pressure): processes killed, the pod stays, Failed/Evicted. */
  async evict(ns: string, name: string, message: string): Promise<void> {
    const p = this.ctx.store.get('pods', ns, name);
    const r = p && this.runners.get(p.metadata.uid!);
    if (!r) throw new Error(`pod ${ns}/${name} is not running on any node`);
    await r.terminate(0, message);
    r.cleanup();
    this.runners.delete(r.uid);
  }

  queuePass(): void {
    if (this.passQueued || this.stopped) return;
    this.passQueued = true;
    setImmediate(() => {
      this.passQueued = false;
      if (!this.stopped) this.schedulePass();
    });
  }

  private schedulePass(): void {
    const { store, events } = this.ctx;
    const nodes = store.list('nodes');
    const pods = store.list('pods');
    const queue = pods
      .filter((p) => !p.spec.nodeName && !p.metadata.deletionTimestamp && (p.spec.schedulerName ?? 'default-scheduler') === 'default-scheduler')
      .sort((a, b) => (a.metadata.creationTimestamp! < b.metadata.creationTimestamp! ? -1 : a.metadata.creationTimestamp! > b.metadata.creationTimestamp! ? 1 : Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion)));
    for (const pod of queue) {
      const placement = schedule(pod, nodes, pods);
      const { namespace: ns, name, uid } = pod.metadata;
      if ('node' in placement) {
        const bound = store.mutate('pods', ns, name, (p) => {
          if (p.metadata.uid !== uid || p.spec.nodeName) return false;
          p.spec.nodeName = placement.node;
          p.status = { ...(p.status ?? {}), conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now() }] };
        });
        if (bound?.spec.nodeName === placement.node) {
          pods.splice(pods.findIndex((p) => p.metadata.uid === uid), 1, bound);
          this.lastUnschedulable.delete(uid!);
          events.record(bound, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${placement.node}`, { component: 'default-scheduler' });
        }
        continue;
      }
      if (this.lastUnschedulable.get(uid!) === placement.message) continue;
      this.lastUnschedulable.set(uid!, placement.message);
      const updated = store.mutate('pods', ns, name, (p) => {
        if (p.metadata.uid !== uid) return false;
        p.status = {
          ...(p.status ?? {}),
          phase: 'Pending',
          conditions: [{ type: 'PodScheduled', status: 'False', lastProbeTime: null, lastTransitionTime: now(), reason: 'Unschedulable', message: placement.message }],
        };
      });
      if (updated) events.record(updated, 'Warning', 'FailedScheduling', placement.message, { component: 'default-scheduler' });
    }
  }

  private async deleteNamespace(name: string): Promise<void> {
    const { store } = this.ctx;
    for (const r of ['pods', 'services', 'endpoints', 'secrets', 'configmaps', 'serviceaccounts', 'events'])
      for (const o of store.list(r, name)) store.remove(r, name, o.metadata.name);
    await Promise.all([...this.stopping.values()]);
    store.remove('namespaces', undefined, name);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    await Promise.all([...this.runners.values()].map((r) => this.stopRunner(r, 0)));
    await Promise.all([...this.pending]);
  }
}
