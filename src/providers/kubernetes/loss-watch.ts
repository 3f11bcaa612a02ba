// Lost nodes: a pod of a running cluster that is deleted, evicted or exits is a lost node. One
// watch per (context, namespace) with clusters in it reports them at once (the agent link would
// only notice the head, and only once it broke); a re-list on every (re)connect catches what
// happened while the watch was down. Teardowns aloft itself runs are not losses.
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeApi } from './api.js';
import { lossReason } from './pod-status.js';
import { LABEL_CLUSTER, LABEL_UID, selector } from './pod-spec.js';

export type LossListener = (cluster: string, reason: string) => void;

interface Scope {
  api: () => KubeApi;
  namespace: string;
  stop?: () => void;
  retry?: NodeJS.Timeout;
  closed: boolean;
}

export class LossWatcher {
  private scopes = new Map<string, Scope>();
  private listeners: LossListener[] = [];
  /** clusters being torn down by aloft (their pods going away is expected) */
  private leaving = new Set<string>();
  private reported = new Set<string>();

  constructor(
    /** uid → cluster name, for clusters that are up (from the provider's records) */
    private readonly liveClusters: () => Map<string, { cluster: string; pods: string[]; context: string; namespace: string }>,
  ) {}

  onLoss(l: LossListener): void {
    this.listeners.push(l);
  }

  /** A cluster's pods were (re)created: losses of the new pods are news again. */
  forget(uid: string): void {
    for (const k of [...this.reported]) if (k.startsWith(`${uid}\0`)) this.reported.delete(k);
  }

  leavingCluster(uid: string, leaving: boolean): void {
    if (leaving) this.leaving.add(uid);
    else this.leaving.delete(uid);
  }

  /** Watches every (context, namespace) that has live clusters; stops the others. */
  sync(apiFor: (context: string) => KubeApi): void {
    if (!this.listeners.length) return;
    const want = new Map<string, { context: string; namespace: string }>();
    for (const c of this.liveClusters().values()) want.set(`${c.context}\0${c.namespace}`, { context: c.context, namespace: c.namespace });
    for (const [key, s] of this.scopes) {
      if (!want.has(key)) {
        s.closed = true;
        s.stop?.();
        if (s.retry) clearTimeout(s.retry);
        this.scopes.delete(key);
      }
    }
    for (const [key, w] of want) {
      if (this.scopes.has(key)) continue;
      const s: Scope = { api: () => apiFor(w.context), namespace: w.namespace, closed: false };
      this.scopes.set(key, s);
      void this.start(s, 0);
    }
  }

  close(): void {
    for (const s of this.scopes.values()) {
      s.closed = true;
      s.stop?.();
      if (s.retry) clearTimeout(s.retry);
    }
    this.scopes.clear();
  }

  private report(uid: string, reason: string): void {
    if (this.leaving.has(uid)) return;
    const live = this.liveClusters().get(uid);
    if (!live) return;
    const key = `${uid}\0${reason}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    for (const l of this.listeners) l(live.cluster, reason);
  }

  private onEvent(type: string, pod: V1Pod): void {
    const uid = pod?.metadata?.labels?.[LABEL_UID];
    if (!uid || !pod.metadata?.labels?.[LABEL_CLUSTER]) return;
    const why = lossReason(pod, pod.metadata.name ?? '?', type);
    if (why) this.report(uid, why);
  }

  private async start(s: Scope, attempt: number): Promise<void> {
    if (s.closed) return;
    const again = () => {
      if (s.closed) return;
      s.retry = setTimeout(() => void this.start(s, attempt + 1), Math.min(30_000, 500 * 2 ** Math.min(attempt, 6)));
      s.retry.unref();
    };
    try {
      const api = s.api();
      // What changed while nobody watched: a pod of a live cluster that is missing or finished.
      const pods = await api.listPods(s.namespace, selector());
      const seen = new Map<string, V1Pod>();
      for (const p of pods) seen.set(p.metadata!.name!, p);
      for (const [uid, c] of this.liveClusters()) {
        if (c.namespace !== s.namespace || api.name !== c.context) continue;
        for (const name of c.pods) {
          const why = lossReason(seen.get(name), name);
          if (why) this.report(uid, why);
        }
      }
      s.stop = await api.watchPods(s.namespace, selector(), (type, pod) => this.onEvent(type, pod), () => again());
      if (s.closed) s.stop();
      attempt = 0;
    } catch {
      again();
    }
  }
}
