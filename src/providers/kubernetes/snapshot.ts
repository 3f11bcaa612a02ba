// Nodes and pods of a context, fetched together and kept briefly: planning asks on every launch
// and dry run, provisioning needs the nodes for GPU placement, and a few seconds old is fresh
// enough for both (the scheduler has the last word; a stale view costs a Pending pod and a
// failover, never a wrong placement). Concurrent askers share one fetch.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { KubeApi } from './api.js';
import { nodeUsage, type NodeUsage } from './capacity.js';

export interface ContextSnapshot {
  context: string;
  at: number;
  nodes: V1Node[];
  pods: V1Pod[];
  usage: NodeUsage[];
  /** set when free capacity could only count one namespace's pods (no cluster-wide list permission) */
  partial?: string;
}

export class SnapshotCache {
  private cache = new Map<string, ContextSnapshot>();
  private inflight = new Map<string, Promise<ContextSnapshot>>();

  async get(api: KubeApi, namespace: string, maxAgeMs: number): Promise<ContextSnapshot> {
    const hit = this.cache.get(api.name);
    if (hit && Date.now() - hit.at <= maxAgeMs) return hit;
    let p = this.inflight.get(api.name);
    if (!p) {
      p = this.fetch(api, namespace).finally(() => this.inflight.delete(api.name));
      this.inflight.set(api.name, p);
    }
    return p;
  }

  /** Forget a context's snapshot (after creating or deleting pods there). */
  invalidate(context: string): void {
    this.cache.delete(context);
  }

  private async fetch(api: KubeApi, namespace: string): Promise<ContextSnapshot> {
    const [nodes, podsOrError] = await Promise.all([api.listNodes(), api.listActivePods().catch((e: unknown) => e)]);
    let pods: V1Pod[];
    let partial: string | undefined;
    if (Array.isArray(podsOrError)) pods = podsOrError;
    else if ((podsOrError as { status?: number }).status === 403) {
      pods = await api.listPods(namespace, '');
      partial = `free capacity counts only namespace ${namespace}'s pods (no permission to list pods cluster-wide)`;
    } else throw podsOrError;
    const snap: ContextSnapshot = { context: api.name, at: Date.now(), nodes, pods, usage: nodeUsage(nodes, pods), ...(partial ? { partial } : {}) };
    this.cache.set(api.name, snap);
    return snap;
  }
}
