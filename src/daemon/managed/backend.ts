// What the managed-jobs controller needs from the layer below: launch an attempt, observe it,
// cancel it, tear it down, and be told when something about a cluster changed. The daemon's
// real pipeline implements it here; the benchmark implements it in memory.

import type { JobStatus } from '../../protocol/model.js';
import type { Task } from '../../spec/types.js';
import type { DaemonContext } from '../context.js';
import { runLaunch } from '../pipeline/launch.js';
import { teardown } from '../pipeline/lifecycle.js';
import { getProvider } from '../providers.js';

export interface AttemptLaunch {
  cluster: string;
  task: Task;
  taskId: string;
  managedJobId: number;
  /** regions to avoid if any other region can run the task */
  avoidRegions: string[];
  /** region to try first (FAILOVER strategy) */
  preferRegion?: string;
}

export interface Observation {
  /** healthy: agent answering; unhealthy: agent lost, nodes still there; preempted: nodes gone/reclaimed */
  cluster: 'healthy' | 'unhealthy' | 'preempted' | 'gone';
  job?: { status: JobStatus; exitCode?: number };
}

export interface ClusterBackend {
  launch(a: AttemptLaunch): Promise<{ clusterUid: string; jobId: number; region?: string }>;
  /**
   * `deep`: do not trust the mirrored UP status; ask the provider whether the nodes are still there
   * (and the agent whether it answers). Used before calling a failed job the user's fault: the
   * job's processes can die a moment before the node does, and the status lags the node.
   */
  observe(cluster: string, clusterUid: string, jobId: number, opts?: { deep?: boolean }): Promise<Observation>;
  cancelJob(cluster: string, jobId: number): Promise<void>;
  exists(cluster: string): boolean;
  teardown(cluster: string): Promise<void>;
  /** Calls `listener(cluster)` whenever something about that cluster changes. Returns unsubscribe. */
  onChange(listener: (cluster: string) => void): () => void;
}

export class DaemonBackend implements ClusterBackend {
  constructor(private readonly ctx: DaemonContext) {}

  async launch(a: AttemptLaunch): Promise<{ clusterUid: string; jobId: number; region?: string }> {
    const { ctx } = this;
    const owner = ctx.store.getManaged(a.managedJobId)?.user;
    const req = ctx.requests.create('launch', a.cluster, owner ? { user: owner } : {});
    try {
      const r = await runLaunch(
        ctx,
        {
          task: a.task,
          cluster: a.cluster,
          managedJobId: a.managedJobId,
          taskId: a.taskId,
          avoidRegions: a.avoidRegions,
          preferRegion: a.preferRegion,
        },
        req,
      );
      ctx.requests.finish(req.id, { jobId: r.jobId });
      const rec = ctx.store.getCluster(a.cluster);
      if (!rec || r.jobId === undefined) throw new Error('launch finished without a job');
      return { clusterUid: rec.uid, jobId: r.jobId, region: rec.region };
    } catch (err) {
      ctx.requests.finish(req.id, { error: err });
      throw err;
    }
  }

  async observe(cluster: string, clusterUid: string, jobId: number, opts: { deep?: boolean } = {}): Promise<Observation> {
    const { store } = this.ctx;
    this.ctx.links.flushNow();
    const rec = store.getCluster(cluster);
    if (!rec || rec.uid !== clusterUid) return { cluster: 'gone' };
    const job = store.getJob(clusterUid, jobId);
    const jobView = job ? { status: job.status, exitCode: job.exitCode } : undefined;
    if (rec.status === 'UP' && !opts.deep) return { cluster: 'healthy', job: jobView };
    // Ask the provider whether the nodes are still there (a reclaimed spot node is not).
    const provider = await getProvider(rec.cloud, this.ctx.home);
    const info = await provider.queryInstances(cluster).catch(() => undefined);
    const lost = !info || info.nodes.length === 0 || info.nodes.some((n) => n.status === 'terminated');
    if (lost) return { cluster: 'preempted', job: jobView };
    if (rec.status !== 'UP') return { cluster: 'unhealthy', job: jobView };
    // UP with its nodes there: healthy only if the head agent (and, through it, the workers) answers now.
    return { cluster: (await this.ctx.links.check(cluster)) ? 'healthy' : 'unhealthy', job: jobView };
  }

  // The controller writes each transition before it acts; with PostgreSQL state the write must
  // also be durable before the action (launches wait at their first stage).
  async cancelJob(cluster: string, jobId: number): Promise<void> {
    await this.ctx.store.durable();
    const client = await this.ctx.links.get(cluster);
    await client.call('cancel', { jobIds: [jobId] });
  }

  exists(cluster: string): boolean {
    return this.ctx.store.getCluster(cluster) !== undefined;
  }

  async teardown(cluster: string): Promise<void> {
    if (!this.exists(cluster)) return;
    await this.ctx.store.durable();
    await this.ctx.locks.with(cluster, () => teardown(this.ctx, cluster));
  }

  onChange(listener: (cluster: string) => void): () => void {
    const onEvent = (e: { cluster?: { name: string }; job?: { cluster: string }; name?: string }) => {
      const name = e.cluster?.name ?? e.job?.cluster ?? e.name;
      if (name) listener(name);
    };
    this.ctx.store.on('event', onEvent);
    return () => this.ctx.store.off('event', onEvent);
  }
}
