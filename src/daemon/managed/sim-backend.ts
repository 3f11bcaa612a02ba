// An in-process simulated cluster layer for the managed-jobs controller: clusters and jobs are
// objects with timers. It lets the benchmark run 2,000 concurrent jobs and lets tests script
// preemptions and failures precisely; the real backend (backend.ts) drives the daemon's pipeline.

import type { JobStatus } from '../../protocol/model.js';
import type { AttemptLaunch, ClusterBackend, Observation } from './backend.js';

interface SimCluster {
  uid: string;
  region: string;
  jobStatus: JobStatus;
  exitCode?: number;
  state: 'healthy' | 'preempted';
  /** shallow observations still say healthy (see preempt) */
  statusLags?: boolean;
  timer?: NodeJS.Timeout;
}

export interface SimOptions {
  regions: string[];
  launchMs: number;
  /** how long a job runs before it exits; per launch, so tests can vary attempts */
  runMs: (cluster: string, attempt: number) => number;
  /** exit code of a job when it ends (0 = success) */
  exitCode: (cluster: string, attempt: number) => number;
  /** throw to simulate "no capacity" for this launch */
  beforeLaunch?: (a: AttemptLaunch, attempt: number) => void;
}

export class SimBackend implements ClusterBackend {
  readonly clusters = new Map<string, SimCluster>();
  private listeners = new Set<(cluster: string) => void>();
  private seq = 0;
  launches = 0;
  readonly launchRegions: string[] = [];

  constructor(private readonly opts: SimOptions) {}

  private emit(cluster: string): void {
    for (const l of this.listeners) l(cluster);
  }

  async launch(a: AttemptLaunch): Promise<{ clusterUid: string; jobId: number; region?: string }> {
    const attempt = ++this.launches;
    this.opts.beforeLaunch?.(a, attempt);
    await new Promise((r) => setTimeout(r, this.opts.launchMs));
    const avoid = new Set(a.avoidRegions);
    const region = this.opts.regions.find((r) => r === a.preferRegion) ?? this.opts.regions.find((r) => !avoid.has(r)) ?? this.opts.regions[0]!;
    this.launchRegions.push(region);
    const c: SimCluster = { uid: `sim-${++this.seq}`, region, jobStatus: 'RUNNING', state: 'healthy' };
    this.clusters.set(a.cluster, c);
    c.timer = setTimeout(() => {
      const code = this.opts.exitCode(a.cluster, attempt);
      c.jobStatus = code === 0 ? 'SUCCEEDED' : 'FAILED';
      c.exitCode = code;
      this.emit(a.cluster);
    }, this.opts.runMs(a.cluster, attempt));
    this.emit(a.cluster);
    return { clusterUid: c.uid, jobId: 1, region };
  }

  async observe(cluster: string, clusterUid: string, _jobId: number, opts: { deep?: boolean } = {}): Promise<Observation> {
    const c = this.clusters.get(cluster);
    if (!c || c.uid !== clusterUid) return { cluster: 'gone' };
    const state = c.statusLags && !opts.deep ? 'healthy' : c.state;
    return { cluster: state, job: { status: c.jobStatus, exitCode: c.exitCode } };
  }

  async cancelJob(cluster: string): Promise<void> {
    const c = this.clusters.get(cluster);
    if (!c) return;
    if (c.timer) clearTimeout(c.timer);
    c.jobStatus = 'CANCELLED';
    this.emit(cluster);
  }

  exists(cluster: string): boolean {
    return this.clusters.has(cluster);
  }

  async teardown(cluster: string): Promise<void> {
    const c = this.clusters.get(cluster);
    if (c?.timer) clearTimeout(c.timer);
    this.clusters.delete(cluster);
    this.emit(cluster);
  }

  /**
   * Reclaims a cluster's nodes, like a cloud taking back a spot instance. `statusLags`: the job's
   * failure is seen before the node's loss (only a deep look at the provider shows it), as when a
   * job's processes die a moment before their agent.
   */
  preempt(cluster: string, opts: { statusLags?: boolean; exitCode?: number } = {}): void {
    const c = this.clusters.get(cluster);
    if (!c) return;
    if (c.timer) clearTimeout(c.timer);
    c.state = 'preempted';
    c.statusLags = opts.statusLags;
    c.jobStatus = opts.statusLags ? 'FAILED' : 'FAILED_DRIVER';
    c.exitCode = opts.exitCode;
    this.emit(cluster);
  }

  onChange(listener: (cluster: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
