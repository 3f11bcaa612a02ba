// One connection per cluster to its head agent. The daemon mirrors the agent's job table
// (watch stream, resumed from the last sequence it stored) and learns at once when the agent
// goes away or autostops. Jobs never depend on this connection: the agent runs them alone.

import { AgentClient } from '../agent/rpc.js';
import type { AutostopMarker, JobChange } from '../agent/protocol.js';
import type { ClusterRecord, JobRecord } from '../protocol/model.js';
import { isTerminalJob } from '../protocol/model.js';
import { errorMessage } from '../util/errors.js';
import type { DaemonContext } from './context.js';
import { getProvider } from './providers.js';

interface Link {
  client: AgentClient;
  uid: string;
  closing: boolean;
}

export type AutostopHandler = (cluster: string, marker: AutostopMarker) => void;

/** statusReason of a cluster marked INIT because an agent did not answer (cleared when it does). */
const UNREACHABLE_REASON = /^(head agent|worker\d+ agent) unreachable/;

export class AgentLinks {
  private links = new Map<string, Link>();
  private connecting = new Map<string, Promise<AgentClient>>();
  private retryTimers = new Map<string, NodeJS.Timeout>();
  private pendingJobs: JobRecord[] = [];
  private pendingSeq = new Map<string, number>();
  private flushScheduled = false;
  onAutostop: AutostopHandler = () => undefined;
  private ctx!: DaemonContext;

  bind(ctx: DaemonContext): void {
    this.ctx = ctx;
  }

  /** The head agent's client, connecting (and starting to mirror jobs) if needed. */
  async get(cluster: string): Promise<AgentClient> {
    const link = this.links.get(cluster);
    if (link && !link.closing) return link.client;
    let p = this.connecting.get(cluster);
    if (!p) {
      p = this.connect(cluster).finally(() => this.connecting.delete(cluster));
      this.connecting.set(cluster, p);
    }
    return p;
  }

  has(cluster: string): boolean {
    return this.links.has(cluster);
  }

  private async connect(cluster: string): Promise<AgentClient> {
    const { store } = this.ctx;
    const rec = store.getCluster(cluster);
    if (!rec) throw new Error(`unknown cluster '${cluster}'`);
    const internal = store.getInternal(cluster);
    const head = internal.nodes?.[0];
    if (!head || !internal.headSocket) throw new Error(`cluster '${cluster}' has no head agent yet`);
    const provider = await getProvider(rec.cloud, this.ctx.home);
    const stream = await provider.transport(cluster, head).connect(internal.headSocket);
    const client = await AgentClient.connect(stream);
    const link: Link = { client, uid: rec.uid, closing: false };
    this.links.set(cluster, link);
    client.on('close', () => this.onClosed(cluster, link));
    await client.stream('watch', { sinceSeq: internal.agentSeq ?? 0 }, (item: unknown) =>
      this.onWatchItem(cluster, link, item),
    );
    return client;
  }

  private onWatchItem(cluster: string, link: Link, item: unknown): void {
    const data = item as Partial<JobChange> & { autostop?: AutostopMarker; workerLost?: { rank: number } };
    if (data.autostop) {
      link.closing = true;
      this.onAutostop(cluster, data.autostop);
      return;
    }
    // The head lost a worker agent: look at the cluster's health now, not at the next failure.
    if (data.workerLost) return this.scheduleCheck(cluster, 0);
    if (!data.job || typeof data.seq !== 'number') return;
    const job: JobRecord = { ...data.job, cluster, clusterUid: link.uid };
    this.pendingJobs.push(job);
    this.pendingSeq.set(cluster, data.seq);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes mirrored job changes in one transaction per tick: 1,000 jobs/s stay cheap. */
  private flush(): void {
    this.flushScheduled = false;
    const jobs = this.pendingJobs;
    const seqs = this.pendingSeq;
    this.pendingJobs = [];
    this.pendingSeq = new Map();
    const { store } = this.ctx;
    const lastJob = new Map<string, number>();
    store.tx(() => {
      for (const job of jobs) {
        const prev = store.getJob(job.clusterUid, job.id);
        store.putJob(job);
        if (isTerminalJob(job.status) && (!prev || !isTerminalJob(prev.status))) this.ctx.archive.enqueue(job);
        // A job that lost its driver may have lost a node: look at the cluster's agents now.
        if (job.status === 'FAILED_DRIVER' && prev?.status !== 'FAILED_DRIVER') this.scheduleCheck(job.cluster, 0);
        lastJob.set(job.cluster, Math.max(lastJob.get(job.cluster) ?? 0, job.id));
      }
      for (const [cluster, seq] of seqs) store.setInternal(cluster, { agentSeq: seq });
      for (const [cluster, id] of lastJob) {
        const c = store.getCluster(cluster);
        if (c && (c.lastJobId ?? 0) < id) store.putCluster({ ...c, lastJobId: id });
      }
    });
  }

  private onClosed(cluster: string, link: Link): void {
    if (this.links.get(cluster) === link) this.links.delete(cluster);
    if (link.closing) return;
    const rec = this.ctx.store.getCluster(cluster);
    if (!rec || rec.status !== 'UP') return;
    this.ctx.log.warn({ cluster }, 'lost connection to head agent');
    this.scheduleCheck(cluster, 200);
  }

  /** Reconnects, or marks the cluster unhealthy (INIT, like SkyPilot) while its agent is gone. */
/**
   * One health check: reconnects if needed; an UP cluster whose agent does not answer becomes
   * INIT with the reason, and an INIT one whose agent is back becomes UP. Returns healthy or not.
   */
  async check(cluster: string): Promise<boolean> {
    const rec = this.ctx.store.getCluster(cluster);
    if (!rec || (rec.status !== 'UP' && rec.status !== 'INIT')) return false;
    let who = 'head agent';
    try {
      const client = await this.get(cluster);
      if (rec.numNodes > 1) {
        // The head reaches its workers the way a job does; a worker it cannot reach breaks gang jobs.
        const { unreachable } = await client.call('workerHealth', {});
        if (unreachable.length) {
          who = `worker${unreachable[0]!.rank} agent`;
          throw new Error(unreachable.map((u) => (unreachable.length > 1 ? `rank ${u.rank}: ${u.error}` : u.error)).join('; '));
        }
      } else {
        // A link whose agent just died can still look open: make the agent answer.
        await client.call('info', {}, { timeoutMs: 5000 });
      }
      if (rec.status === 'INIT' && UNREACHABLE_REASON.test(rec.statusReason ?? '')) {
        this.ctx.store.updateCluster(cluster, { status: 'UP', statusReason: undefined });
        this.ctx.store.notice(`cluster ${cluster}: agents are back`, 'info', cluster);
      }
      return true;
    } catch (err) {
      // A cloud's own account of the nodes (a spot reclaim, a stop) explains a lost agent better
      // than the socket error; an operation in progress owns the record meanwhile.
      if (!this.ctx.locks.busy(cluster)) {
        try {
          const { applyNodeStates, nodeStatesOf } = await import('./reconcile.js');
          const s = await nodeStatesOf(this.ctx, rec);
          if (s && (await applyNodeStates(this.ctx, this.ctx.store.getCluster(cluster) ?? rec, s.info))) return false;
        } catch {
          /* the provider cannot say now: the agent's error stands */
        }
      }
      // A spot cluster's agents are gone because its nodes are: that is a preemption, not a fault.
      if (rec.useSpot) {
        const { notePreemption } = await import('./pipeline/lifecycle.js');
        if (await notePreemption(this.ctx, cluster).catch(() => false)) return false;
      }
      if (rec.status === 'UP') {
        this.ctx.store.updateCluster(cluster, {
          status: 'INIT',
          statusReason: `${who} unreachable: ${errorMessage(err)}; run \`aloft start ${cluster}\` to repair`,
        });
        this.ctx.store.notice(`cluster ${cluster}: ${who} unreachable`, 'warn', cluster);
      }
      // Its jobs are not left RUNNING on faith: those whose processes are gone are accounted for.
      if (who === 'head agent') void import('./reap.js').then(({ reapLostHead }) => reapLostHead(this.ctx, cluster));
      return false;
    }
  }

  /** Checks after `delayMs`, and keeps checking every 5 s while the agent is gone. */
  scheduleCheck(cluster: string, delayMs: number): void {
    if (this.retryTimers.has(cluster)) return;
    const timer = setTimeout(async () => {
      this.retryTimers.delete(cluster);
      const rec = this.ctx.store.getCluster(cluster);
      if (!rec || (rec.status !== 'UP' && rec.status !== 'INIT')) return;
      if (!(await this.check(cluster))) this.scheduleCheck(cluster, 5000);
    }, delayMs);
    timer.unref();
    this.retryTimers.set(cluster, timer);
  }


  /** Closes the link on purpose (stop/down): no unhealthy marking. */
  drop(cluster: string): void {
    const link = this.links.get(cluster);
    const t = this.retryTimers.get(cluster);
    if (t) clearTimeout(t);
    this.retryTimers.delete(cluster);
    if (!link) return;
    link.closing = true;
    this.links.delete(cluster);
    link.client.close();
  }

  closeAll(): void {
    for (const name of [...this.links.keys()]) this.drop(name);
  }

  /** Waits until mirrored writes queued so far are in the database. */
  flushNow(): void {
    if (this.flushScheduled) this.flush();
  }
}

export function clusterUp(rec: ClusterRecord | undefined): boolean {
  return rec?.status === 'UP';
}
