import type { Store } from './store.js';
import type { Logger } from './log.js';
import type { AgentLinks } from './agents.js';
import type { RequestTracker } from './requests.js';
import type { LogArchive } from './logs.js';
import type { ManagedJobs } from './managed/service.js';
import type { Services } from './serve/service.js';
import type { PlanRunner } from './plan-runner.js';

/** Everything a daemon component needs, passed explicitly (no module-level singletons). */
export interface DaemonContext {
  home: string;
  store: Store;
  log: Logger;
  links: AgentLinks;
  requests: RequestTracker;
  archive: LogArchive;
  locks: ClusterLocks;
  /** the optimizer's thread: every plan runs there, never on the event loop */
  planner: PlanRunner;
  managed?: ManagedJobs;
  services?: Services;
}

/** Serializes operations on one cluster (launch vs down vs stop), never across clusters. */
export class ClusterLocks {
  private tails = new Map<string, Promise<unknown>>();

  /** An operation on this cluster is running or queued (it owns the cluster's record meanwhile). */
  busy(cluster: string): boolean {
    return this.tails.has(cluster);
  }

  async with<T>(cluster: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(cluster) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(cluster, tail);
    await prev.catch(() => undefined);
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(cluster) === tail) this.tails.delete(cluster);
    }
  }
}
