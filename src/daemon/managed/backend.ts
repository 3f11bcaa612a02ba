// What the managed-jobs controller needs from the layer below: launch an attempt, observe it,
// cancel it, tear it down, and be told when something about a cluster changed. The daemon's
// real pipeline implements it here; the benchmark implements it in memory.

import type { JobStatus } from '../../protocol/model.js';
import type { Task } from '../../spec/types.js';
import type { DaemonContext } from '../context.js';
import { runLaunch } from '../pipeline/launch.js';
import { teardown } from '../pipeline/lifecycle.js';
import { getProvider } from '../providers.js';
import type { NodeInfo } from '../../providers/types.js';

export interface AttemptLaunch {
  cluster: string;
  task: Task;
  /** SKYPILOT_TASK_ID to keep across attempts (a new one when absent) */
  taskId?: string;
  /** set for a managed job's attempts (SKYPILOT_MANAGED_JOB_ID) */
  managedJobId?: number;
  /** regions to avoid if any other region can run the task */
  avoidRegions: string[];
  /** region to try first (FAILOVER strategy) */
  preferRegion?: string;
  /** who the cluster belongs to (team mode) when no managed job says: a service's replicas are its owner's */
  user?: string;
}

export interface Observation {
  /** healthy: agent answering; unhealthy: agent lost, nodes still there; preempted: nodes gone/reclaimed */
  cluster: 'healthy' | 'unhealthy' | 'preempted' | 'gone';
  job?: { status: JobStatus; exitCode?: number };
}

export interface PlacedCluster {
  head?: NodeInfo;
  infra: string;
  region?: string;
  resources: string;
  useSpot: boolean;
  cloud: string;
  /** first accelerator of its nodes, "A100:1" */
  accelerator?: string;
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
  /** `purge`: forget the cluster even when its teardown fails (unreachable hosts) */
  teardown(cluster: string, opts?: { purge?: boolean }): Promise<void>;
  /** Calls `listener(cluster)` whenever something about that cluster changes. Returns unsubscribe. */
  onChange(listener: (cluster: string) => void): () => void;
}

export class DaemonBackend implements ClusterBackend {
  constructor(private readonly ctx: DaemonContext) {}

  async launch(a: AttemptLaunch): Promise<{ clusterUid: string; jobId: number; region?: string }> {
    const { ctx } = this;
    const owner = a.managedJobId !== undefined ? ctx.store.getManaged(a.managedJobId)?.user : a.user;
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

  async teardown(cluster: string, opts: { purge?: boolean } = {}): Promise<void> {
    if (!this.exists(cluster)) return;
    await this.ctx.store.durable();
    await this.ctx.locks.with(cluster, () => (this.exists(cluster) ? teardown(this.ctx, cluster, { purge: opts.purge }) : Promise.resolve()));
  }

  /** What a launched cluster turned out to be: its head node, where it runs, what it has. */
  placed(cluster: string): PlacedCluster | undefined {
    const rec = this.ctx.store.getCluster(cluster);
    if (!rec) return undefined;
    const head = this.ctx.store.getInternal(cluster).nodes?.[0];
    const accelerator = Object.entries(rec.nodeResources?.accelerators ?? {})[0];
    return {
      head,
      infra: rec.infra,
      region: rec.region,
      resources: rec.resources,
      useSpot: rec.useSpot,
      cloud: rec.cloud,
      ...(accelerator ? { accelerator: `${accelerator[0]}:${accelerator[1]}` } : {}),
    };
  }

  /**
   * Where `port` of a cluster's head is reached from this machine, when its provider maps ports
   * (Kubernetes: a NodePort on a node's address, or a LoadBalancer's ingress; pod IPs are not
   * reachable from outside a real cluster). Undefined: the head node's own address serves it.
   */
  async portAddress(cluster: string, port: number): Promise<string | undefined> {
    const rec = this.ctx.store.getCluster(cluster);
    if (!rec) return undefined;
    const provider = await getProvider(rec.cloud, this.ctx.home);
    if (!provider.endpoints) return undefined;
    const hit = (await provider.endpoints(cluster))[port];
    // "(load balancer pending)" and the like: not an address yet
    return hit && !hit.startsWith('(') ? hit : undefined;
  }

  /** Why nodes of this infra share one network address (two cannot serve on the same port), if they do. */
  async sharedAddressWhy(cloud: string): Promise<string | undefined> {
    if (cloud !== 'local') return undefined;
    const provider = (await getProvider('local', this.ctx.home)) as unknown as { isolation?: () => Promise<{ net: boolean; netWhy?: string }> };
    const s = await provider.isolation?.();
    return s && !s.net ? `local nodes share this machine's network (${s.netWhy ?? 'no node namespaces'})` : undefined;
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
