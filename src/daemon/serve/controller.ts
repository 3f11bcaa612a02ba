// The services controller: one durable loop per service, the managed-jobs controller's sibling.
// It sits above clusters (the same ClusterBackend: launch / observe / teardown / onChange) and
// keeps each service's replicas what its policy says: launches them through the ordinary
// pipeline, probes them, replaces the ones that fail or are preempted, scales on the request rate
// its load balancer measures, rolls versions, and tells the balancer which replicas are READY.
// Level-triggered: every pass reads the service from the database and moves it one step; every
// step is written before it is acted on, so a daemon restarted after a SIGKILL carries on —
// adopting the balancer process, which kept serving meanwhile.
import { TERMINAL_JOB_STATUSES, type ReplicaRecord, type ServiceRecord } from '../../protocol/model.js';
import type { LbConfig, LbEvent, LbStats } from '../../serve/lb/protocol.js';
import type { ServiceSpec, Task } from '../../spec/types.js';
import { inRange, servicePort } from '../../spec/service.js';
import { errorMessage } from '../../util/errors.js';
import type { Store } from '../store.js';
import type { DaemonBackend } from '../managed/backend.js';
import { activeVersions, autoscale, nextHysteresisAt } from './autoscaler.js';
import { replicaUrl, serviceEndpoint } from './endpoint.js';
import { LbLink } from './lb-link.js';
import { probeReplica } from './probe.js';
import { editReplica, ended, ending, live, newReplica, probed, serviceStatusOf, shutDown } from './replicas.js';

export interface ServeOptions {
  /** a version's task, secrets included */
  loadTask(service: string, version: number): Task;
  log(service: string, line: string): void;
  dirOf(service: string): string;
  /** the service is gone: its secrets and files too */
  forget(service: string): void;
  lbEnv: NodeJS.ProcessEnv;
  /** the autoscaler's QPS window (SkyServe: 60 s) */
  qpsWindowSeconds: number;
  /** how often the balancer's counters are read */
  statsIntervalMs: number;
  unhealthyGraceMs: number;
  recheckMs: number;
  /** where balancers listen, and the first port tried (SkyServe: 30001) */
  host: string;
  portStart: number;
  portRange: number;
}

/** What the controller keeps in memory about a service (all of it can be lost: it is rebuilt). */
class Runtime {
  waker?: () => void;
  launching = new Set<number>();
  tearing = new Set<number>();
  probing = new Set<number>();
  nextProbe = new Map<number, number>();
  /** probes a starting replica failed so far: the next one comes sooner than the interval */
  startFails = new Map<number, number>();
  unhealthy = new Map<number, number>();
  stats?: LbStats;
  statsAt = 0;
  lbUp = false;
  /** adopting or starting the balancer, in the background */
  lbStarting?: Promise<void>;
  lbRetryAt = 0;
  pushed?: string;
  stalled?: string;
  preemptedRegions: string[] = [];
  constructor(readonly link: LbLink) {}
}

const BACKOFF_MAX_MS = 5 * 60_000;

export class ServiceController {
  private readonly runtimes = new Map<string, Runtime>();
  private readonly running = new Set<string>();
  private readonly specs = new Map<string, Task>();
  private stopped = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: Store,
    private readonly backend: DaemonBackend,
    private readonly opts: ServeOptions,
  ) {
    this.unsubscribe = backend.onChange((cluster) => {
      const m = /^(.+)-(\d+)$/.exec(cluster);
      if (m && this.running.has(m[1]!)) this.wake(m[1]!);
    });
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    for (const rt of this.runtimes.values()) {
      rt.link.unsubscribe();
      rt.waker?.();
    }
  }

  resumeAll(): number {
    const all = this.store.listServices();
    for (const s of all) {
      this.opts.log(s.name, `resuming in state ${s.status} after a daemon restart`);
      this.start(s.name);
    }
    return all.length;
  }

  start(name: string): void {
    if (this.running.has(name) || this.stopped) return;
    this.running.add(name);
    void this.drive(name).then(
      () => {
        this.running.delete(name);
        if (!this.store.getService(name)) this.runtimes.delete(name);
      },
      (err) => {
        // A bug or a database hiccup must not leave a service unattended: the loop starts again.
        this.running.delete(name);
        this.opts.log(name, `controller error: ${errorMessage(err)}; restarting its loop`);
        if (!this.stopped) setTimeout(() => this.start(name), 1000).unref();
      },
    );
  }

  wake(name: string): void {
    const rt = this.runtimes.get(name);
    const w = rt?.waker;
    if (w) {
      rt.waker = undefined;
      w();
    } else if (!this.running.has(name) && this.store.getService(name)) this.start(name);
  }

  /** A version's task (cached: versions never change). */
  task(name: string, version: number): Task {
    const key = `${name}@${version}`;
    let t = this.specs.get(key);
    if (!t) {
      t = this.opts.loadTask(name, version);
      this.specs.set(key, t);
    }
    return t;
  }

  spec(name: string, version: number): ServiceSpec {
    return this.task(name, version).service!;
  }

  private runtime(name: string): Runtime {
    let rt = this.runtimes.get(name);
    if (!rt) {
      rt = new Runtime(new LbLink(this.opts.dirOf(name)));
      this.runtimes.set(name, rt);
    }
    return rt;
  }

  /** Re-reads the service and applies `fn` in one transaction; unchanged records are not written. */
  private mutate(name: string, fn: (s: ServiceRecord) => ServiceRecord): ServiceRecord | undefined {
    return this.store.tx(() => {
      const cur = this.store.getService(name);
      if (!cur) return undefined;
      const next = fn(cur);
      if (next === cur) return cur;
      for (const r of next.replicas) {
        const before = cur.replicas.find((x) => x.id === r.id);
        if (before?.status !== r.status) this.opts.log(name, `replica ${r.id}: ${before?.status ?? 'new'} → ${r.status}${r.statusReason && r.statusReason !== before?.statusReason ? ` (${r.statusReason})` : ''}`);
      }
      for (const r of cur.replicas) if (!next.replicas.some((x) => x.id === r.id)) this.opts.log(name, `replica ${r.id}: removed`);
      if (cur.status !== next.status) {
        this.opts.log(name, `service: ${cur.status} → ${next.status}${next.statusReason ? ` (${next.statusReason})` : ''}`);
        if (next.status === 'READY' || next.status === 'FAILED' || next.status === 'CONTROLLER_FAILED' || next.status === 'FAILED_CLEANUP') {
          this.store.notice(`service ${name}: ${next.status}${next.statusReason ? ` (${next.statusReason})` : ''}`, next.status === 'READY' ? 'info' : 'error');
        }
      }
      return this.store.putService(next);
    });
  }

  private sleep(rt: Runtime, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, Math.max(20, ms));
      rt.waker = done;
      function done() {
        clearTimeout(t);
        resolve();
      }
    });
  }

  private async drive(name: string): Promise<void> {
    const rt = this.runtime(name);
    while (!this.stopped) {
      const svc = this.store.getService(name);
      if (!svc) return;
      if (svc.status === 'SHUTTING_DOWN') return this.shutdown(svc, rt);
      // its teardown failed: it waits for `serve down --purge`
      if (svc.status === 'FAILED_CLEANUP') return;
      // Replicas do not wait for the balancer: it starts (or is adopted) alongside.
      const lbUp = this.balancer(svc, rt);
      if (lbUp) await this.refreshStats(svc, rt);
      await this.observe(name, rt);
      this.scale(name, rt);
      if (lbUp) await this.pushBalancer(name, rt);
      this.act(name, rt);
      this.settleStatus(name, rt);
      await this.sleep(rt, this.nextWake(name, rt));
    }
  }

  // ---- the load balancer ----

  private lbConfig(svc: ServiceRecord): LbConfig {
    const spec = this.spec(svc.name, svc.version);
    // computed now, not read from the record: a replica that just became READY serves at once
    const active = activeVersions(svc.replicas, svc.updateMode, (v) => this.spec(svc.name, v).minReplicas);
    const ready = svc.replicas.filter((r) => r.status === 'READY' && r.url && active.includes(r.version));
    const target = spec.targetQpsPerReplica;
    return {
      service: svc.name,
      replicas: ready.map((r) => ({ id: r.id, url: r.url!, version: r.version, ...(r.accelerator ? { accelerator: r.accelerator } : {}) })),
      policy: (spec.loadBalancingPolicy ?? 'least_load') as LbConfig['policy'],
      ...(target !== undefined && typeof target === 'object' ? { targetQps: target } : {}),
      streamTimeoutMs: spec.streamTimeoutSeconds * 1000,
      // A request that finds no replica (scale from zero) waits as long as a replica may take to start.
      holdMs: Math.max(30, spec.readiness.initialDelaySeconds) * 1000,
    };
  }

  /** Whether the balancer is up; if not, adopting or starting it runs in the background. */
  private balancer(svc: ServiceRecord, rt: Runtime): boolean {
    if (rt.lbUp) return true;
    if (!rt.lbStarting && Date.now() >= rt.lbRetryAt) {
      rt.lbStarting = this.ensureBalancer(svc, rt)
        .then((ok) => {
          if (!ok) rt.lbRetryAt = Date.now() + 5000;
        })
        .finally(() => {
          rt.lbStarting = undefined;
          this.wake(svc.name);
        });
    }
    return false;
  }

  /** Adopts the running balancer or starts one; false while it cannot run (CONTROLLER_FAILED). */
  private async ensureBalancer(svc: ServiceRecord, rt: Runtime): Promise<boolean> {
    if (rt.lbUp) return true;
    const name = svc.name;
    let state = await rt.link.adopt();
    if (state) {
      this.opts.log(name, `adopted the load balancer (pid ${state.pid}, port ${state.port}); it kept serving ${state.replicas.length} replica(s)`);
    } else {
      const spec = this.spec(name, svc.version);
      const listen = rt.link.listenOf() ?? {
        port: svc.port ?? this.opts.portStart,
        ...(svc.port === undefined ? { portSearch: this.opts.portRange } : {}),
        host: this.opts.host,
        ...(spec.tls ? { tls: spec.tls } : {}),
      };
      try {
        const r = await rt.link.start(this.lbConfig(svc), listen, this.opts.lbEnv);
        this.opts.log(name, `load balancer started (pid ${r.pid}) on port ${r.port}`);
        state = { protocol: 0, pid: r.pid, port: r.port, service: name, startedAt: Date.now(), replicas: [], waiting: 0 };
      } catch (err) {
        const why = errorMessage(err);
        this.opts.log(name, why);
        this.mutate(name, (s) => (s.status === 'CONTROLLER_FAILED' && s.statusReason === why ? s : { ...s, status: 'CONTROLLER_FAILED', statusReason: why }));
        return false;
      }
    }
    const { pid, port } = state;
    rt.lbUp = true;
    rt.pushed = undefined; // send the config again: the balancer may have an older one
    rt.link.subscribe(
      (e) => this.onBalancerEvent(name, rt, e),
      () => {
        rt.lbUp = false;
        this.wake(name);
      },
    );
    this.mutate(name, (s) => {
      const endpoint = serviceEndpoint(port, this.spec(name, s.version).tls !== undefined);
      if (s.lbPid === pid && s.port === port && s.endpoint === endpoint && s.status !== 'CONTROLLER_INIT' && s.status !== 'CONTROLLER_FAILED') return s;
      const next = { ...s, lbPid: pid, port, endpoint };
      if (s.status === 'CONTROLLER_INIT' || s.status === 'CONTROLLER_FAILED') {
        next.status = serviceStatusOf(s.replicas);
        delete next.statusReason;
      }
      return next;
    });
    return true;
  }

  private onBalancerEvent(name: string, rt: Runtime, e: LbEvent): void {
    if (e.type === 'demand') {
      rt.statsAt = 0; // read the counters now: someone waits for a replica
      this.wake(name);
    } else if (e.type === 'ejected') {
      this.opts.log(name, `load balancer ejected ${e.url}: ${e.reason}`);
      // probe it now rather than at its next turn
      const r = this.store.getService(name)?.replicas.find((x) => x.url === e.url);
      if (r) rt.nextProbe.set(r.id, 0);
      this.wake(name);
    }
  }

  private async refreshStats(svc: ServiceRecord, rt: Runtime): Promise<void> {
    const now = Date.now();
    if (now - rt.statsAt < this.opts.statsIntervalMs) return;
    try {
      rt.stats = await rt.link.stats(this.opts.qpsWindowSeconds);
      rt.statsAt = now;
    } catch {
      rt.lbUp = false; // gone: the next pass adopts or restarts it
      return;
    }
    const s = rt.stats;
    const metrics = {
      qps: Math.round((s.requests / s.window) * 100) / 100,
      ...(s.p50Ms !== undefined ? { p50Ms: Math.round(s.p50Ms * 10) / 10 } : {}),
      ...(s.p99Ms !== undefined ? { p99Ms: Math.round(s.p99Ms * 10) / 10 } : {}),
      inflight: s.inflight,
    };
    this.mutate(svc.name, (cur) => {
      const m = cur.metrics;
      if (m && m.qps === metrics.qps && m.p50Ms === metrics.p50Ms && m.p99Ms === metrics.p99Ms && m.inflight === metrics.inflight) return cur;
      return { ...cur, metrics: { ...metrics, at: now } };
    });
  }

  private async pushBalancer(name: string, rt: Runtime): Promise<void> {
    const svc = this.store.getService(name);
    if (!svc || !rt.lbUp) return;
    const cfg = this.lbConfig(svc);
    const json = JSON.stringify(cfg);
    if (json === rt.pushed) return;
    try {
      await rt.link.push(cfg);
      rt.pushed = json;
      this.opts.log(name, `load balancer serves: ${cfg.replicas.map((r) => `replica ${r.id} (v${r.version})`).join(', ') || 'no replica'}`);
    } catch (err) {
      this.opts.log(name, `cannot reach the load balancer: ${errorMessage(err)}`);
      rt.lbUp = false;
    }
  }

  // ---- replicas ----

  /** Watches the clusters of live replicas: preempted, lost, or their job ended. */
  private async observe(name: string, rt: Runtime): Promise<void> {
    const svc = this.store.getService(name);
    if (!svc) return;
    const now = Date.now();
    await Promise.all(
      svc.replicas
        .filter((r) => live(r) && r.clusterUid && r.jobId !== undefined && !rt.launching.has(r.id))
        .map(async (r) => {
          let obs = await this.backend.observe(r.cluster, r.clusterUid!, r.jobId!);
          const jobEnded = obs.job && TERMINAL_JOB_STATUSES.has(obs.job.status);
          if (obs.cluster === 'healthy' && jobEnded) obs = await this.backend.observe(r.cluster, r.clusterUid!, r.jobId!, { deep: true });
          if (obs.cluster === 'unhealthy') {
            const since = rt.unhealthy.get(r.id) ?? now;
            rt.unhealthy.set(r.id, since);
            if (now - since < this.opts.unhealthyGraceMs) return;
            return this.lost(name, r, rt, 'unreachable (its agent stopped answering)');
          }
          rt.unhealthy.delete(r.id);
          if (obs.cluster === 'preempted') return this.lost(name, r, rt, 'preempted');
          if (obs.cluster === 'gone') return this.lost(name, r, rt, 'gone (its cluster was removed)');
          if (jobEnded) {
            const j = obs.job!;
            this.mutate(name, (s) =>
              editReplica(s, r.id, (x) => shutDown(x, now, { endAs: 'FAILED', reason: `its job ended ${j.status}${j.exitCode !== undefined ? ` (exit ${j.exitCode})` : ''}` })),
            );
          }
        }),
    );
  }

  private lost(name: string, r: ReplicaRecord, rt: Runtime, why: string): void {
    const now = Date.now();
    if (r.useSpot && why === 'preempted' && r.region) rt.preemptedRegions = [...rt.preemptedRegions.filter((x) => x !== r.region), r.region].slice(-5);
    this.mutate(name, (s) =>
      editReplica(s, r.id, (x) =>
        r.useSpot && why === 'preempted' ? shutDown(x, now, { preempted: true, endAs: 'PREEMPTED', reason: 'its spot nodes were preempted' }) : shutDown(x, now, { endAs: 'FAILED', reason: `its cluster is ${why}` }),
      ),
    );
  }

  /** The autoscaler's decision, applied: new PENDING replicas, and replicas marked to go. */
  private scale(name: string, rt: Runtime): void {
    const now = Date.now();
    const stats = rt.stats;
    const qps = stats ? stats.requests / stats.window : 0;
    this.mutate(name, (s) => {
      const spec = this.spec(name, s.version);
      // no balancer, no traffic: nothing to scale for (its launch failed: see CONTROLLER_FAILED)
      if (s.status === 'CONTROLLER_FAILED') return s;
      // after a restart the request rate is the balancer's: wait for it before moving the target
      if (!stats && spec.targetQpsPerReplica !== undefined && s.replicas.length > 0) return s;
      const task = this.task(name, s.version);
      const d = autoscale({
        spec,
        latest: s.version,
        mode: s.updateMode,
        replicas: s.replicas,
        state: s.autoscaler,
        qps,
        now,
        activeVersions: s.activeVersions,
        spot: task.resources.candidates.every((c) => c.useSpot),
      });
      if (d.stalled !== rt.stalled) {
        rt.stalled = d.stalled;
        if (d.stalled) this.opts.log(name, `autoscaler stopped: ${d.stalled}`);
      }
      let next: ServiceRecord = { ...s, autoscaler: d.state };
      if (d.state.target !== s.autoscaler.target) this.opts.log(name, `target replicas: ${s.autoscaler.target} → ${d.state.target} (${qps.toFixed(2)} requests/s)`);
      for (const useSpot of d.up) {
        const id = next.nextReplicaId;
        next = { ...next, nextReplicaId: id + 1, replicas: [...next.replicas, newReplica(name, id, s.version, useSpot, now)] };
      }
      for (const { id, why } of d.down) {
        next = editReplica(next, id, (r) => shutDown(r, now, { reason: why, drainMs: spec.streamTimeoutSeconds * 1000 }));
      }
      const same = d.up.length === 0 && d.down.length === 0 && JSON.stringify(d.state) === JSON.stringify(s.autoscaler);
      return same ? s : next;
    });
  }

  /** Starts what the records ask for: launches, teardowns (once drained), probes. */
  private act(name: string, rt: Runtime): void {
    const svc = this.store.getService(name);
    if (!svc) return;
    const now = Date.now();
    const backoff = (svc.autoscaler.nextLaunchAt ?? 0) > now;
    for (const r of svc.replicas) {
      if (rt.launching.has(r.id)) continue;
      if ((r.status === 'PENDING' && !backoff) || r.status === 'PROVISIONING') {
        // PROVISIONING with no launch of ours running: the daemon died mid-launch; launch again
        this.launch(name, r.id, rt);
      } else if (ending(r) && !rt.tearing.has(r.id)) {
        const inflight = r.url ? (rt.stats?.inflightByUrl[r.url] ?? 0) : 0;
        if (r.drainUntil !== undefined && now < r.drainUntil && inflight > 0) {
          rt.statsAt = 0; // watch it drain
          continue;
        }
        this.teardown(name, r.id, rt, svc.purge);
      } else if (live(r) && r.url && !rt.probing.has(r.id) && (rt.nextProbe.get(r.id) ?? 0) <= now) {
        this.probe(name, r, rt);
      }
    }
  }

  private launch(name: string, id: number, rt: Runtime): void {
    rt.launching.add(id);
    void (async () => {
      // written before the launch starts: a restart finds it PROVISIONING and launches again
      const svc = this.mutate(name, (s) => editReplica(s, id, (r) => (r.status === 'PENDING' ? { ...r, status: 'PROVISIONING' } : r)));
      const r = svc?.replicas.find((x) => x.id === id);
      if (!svc || !r || r.status !== 'PROVISIONING') return;
      const base = this.task(name, r.version);
      const spec = base.service!;
      // SkyServe sets the replica's id in its environment, and the spot policy picks spot or on-demand.
      const task: Task = {
        ...base,
        envs: { ...base.envs, SKYPILOT_SERVE_REPLICA_ID: String(id) },
        // the service's port is opened on every replica (a firewall rule, a Kubernetes Service),
        // as SkyServe does, even when only service.ports names it
        resources: { ...base.resources, candidates: base.resources.candidates.map((c) => ({ ...c, useSpot: r.useSpot, ports: withPort(c.ports, servicePort(base)) })) },
      };
      // A cluster of this name that we did not record (the daemon died mid-launch) goes first.
      if (this.backend.exists(r.cluster)) await this.backend.teardown(r.cluster).catch(() => undefined);
      try {
        const res = await this.backend.launch({ cluster: r.cluster, task, avoidRegions: r.useSpot && spec.spotPlacer ? rt.preemptedRegions : [], ...(svc.user ? { user: svc.user } : {}) });
        const placed = this.backend.placed(r.cluster);
        if (!placed?.head) throw new Error('the launch finished without a node');
        const mapped = await this.backend.portAddress(r.cluster, servicePort(base));
        const url = mapped ? `http://${mapped}` : replicaUrl(placed.head, servicePort(base));
        const clash = this.store.getService(name)?.replicas.find((x) => x.id !== id && x.url === url && !x.endedAt && (live(x) || ending(x)));
        if (clash) {
          const why = (await this.backend.sharedAddressWhy(placed.cloud)) ?? `its node has the address of replica ${clash.id}`;
          throw new Error(`${why}: replica ${id} cannot serve on port ${servicePort(base)} too, replica ${clash.id} already does (${url})`);
        }
        const now = Date.now();
        this.mutate(name, (s) => ({
          ...editReplica(s, id, (x) => ({
            ...x,
            ...(x.status === 'PROVISIONING' ? { status: 'STARTING' as const, startingAt: now } : {}),
            clusterUid: res.clusterUid,
            jobId: res.jobId,
            url,
            infra: placed.infra,
            resources: placed.resources,
            useSpot: placed.useSpot,
            ...(placed.region ? { region: placed.region } : {}),
            ...(placed.accelerator ? { accelerator: placed.accelerator } : {}),
          })),
          autoscaler: { ...s.autoscaler, launchFailures: 0, nextLaunchAt: undefined },
        }));
        rt.nextProbe.set(id, 0);
      } catch (err) {
        const why = errorMessage(err);
        if (this.backend.exists(r.cluster)) await this.backend.teardown(r.cluster).catch(() => undefined);
        const now = Date.now();
        this.mutate(name, (s) => {
          const failures = s.autoscaler.launchFailures + 1;
          const wait = Math.min(BACKOFF_MAX_MS, 5000 * 2 ** (failures - 1));
          const out = editReplica(s, id, (x) => (x.endedAt !== undefined ? x : { ...x, status: 'FAILED_PROVISION', statusReason: why, endedAt: now }));
          return ended({ ...out, autoscaler: { ...s.autoscaler, launchFailures: failures, nextLaunchAt: now + wait } }, -1, now);
        });
      }
    })()
      .catch((err) => this.opts.log(name, `replica ${id}: launch bookkeeping failed: ${errorMessage(err)}`))
      .finally(() => {
        rt.launching.delete(id);
        this.wake(name);
      });
  }

  private teardown(name: string, id: number, rt: Runtime, purge?: boolean): void {
    rt.tearing.add(id);
    const r = this.store.getService(name)?.replicas.find((x) => x.id === id);
    void (async () => {
      let error: string | undefined;
      if (r) await this.backend.teardown(r.cluster, { purge }).catch((err) => (error = errorMessage(err)));
      this.mutate(name, (s) => ended(s, id, Date.now(), error));
      rt.nextProbe.delete(id);
      rt.unhealthy.delete(id);
    })()
      .catch((err) => this.opts.log(name, `replica ${id}: teardown bookkeeping failed: ${errorMessage(err)}`))
      .finally(() => {
        rt.tearing.delete(id);
        this.wake(name);
      });
  }

  private probe(name: string, r: ReplicaRecord, rt: Runtime): void {
    rt.probing.add(r.id);
    const p = this.spec(name, r.version).readiness;
    void probeReplica(r.url!, p)
      .then((res) => {
        const now = Date.now();
        const before = this.store.getService(name)?.replicas.find((x) => x.id === r.id)?.status;
        const after = this.mutate(name, (s) => {
          const out = editReplica(s, r.id, (x) => (x.clusterUid === r.clusterUid ? probed(x, res.ok, res.detail, p, now) : x));
          return res.ok && out !== s && out.uptimeSince === undefined ? { ...out, uptimeSince: now } : out;
        });
        // In or out of READY: the balancer hears it now, not after the loop's next observe (which
        // may take a while) — a replica `serve status` shows READY is one the endpoint reaches.
        if ((before === 'READY') !== (after?.replicas.find((x) => x.id === r.id)?.status === 'READY')) void this.pushBalancer(name, rt);
        // A starting replica is probed on a short, slowly growing schedule (0.15 s, 0.2 s, 0.25 s,
        // … up to the interval): it is READY within moments of listening, not an interval later.
        const starting = !res.ok && r.readyAt === undefined;
        const fails = starting ? (rt.startFails.get(r.id) ?? 0) + 1 : 0;
        if (starting) rt.startFails.set(r.id, fails);
        else rt.startFails.delete(r.id);
        rt.nextProbe.set(r.id, now + Math.min(p.intervalSeconds * 1000, starting ? 100 + 50 * fails : Infinity));
      })
      .finally(() => {
        rt.probing.delete(r.id);
        this.wake(name);
      });
  }

  /** Service status and active versions from the replicas. */
  private settleStatus(name: string, rt: Runtime): void {
    this.mutate(name, (s) => {
      if (s.status === 'SHUTTING_DOWN' || !rt.lbUp) return s;
      const active = activeVersions(s.replicas, s.updateMode, (v) => this.spec(name, v).minReplicas);
      let status = serviceStatusOf(s.replicas);
      const reason = status === 'FAILED' || (rt.stalled && status !== 'READY') ? rt.stalled ?? s.replicas.find((r) => r.endedAt !== undefined)?.statusReason : undefined;
      if (rt.stalled && status === 'REPLICA_INIT') status = 'FAILED';
      if (s.status === status && s.statusReason === reason && JSON.stringify(s.activeVersions) === JSON.stringify(active)) return s;
      const next: ServiceRecord = { ...s, status, activeVersions: active };
      if (reason) next.statusReason = reason;
      else delete next.statusReason;
      return next;
    });
  }

  private nextWake(name: string, rt: Runtime): number {
    const svc = this.store.getService(name);
    const now = Date.now();
    let at = now + this.opts.recheckMs;
    if (!svc) return 0;
    for (const r of svc.replicas) {
      if (live(r) && r.url && !rt.probing.has(r.id)) at = Math.min(at, rt.nextProbe.get(r.id) ?? now);
      if (ending(r) && r.drainUntil !== undefined) at = Math.min(at, now + 200, r.drainUntil);
      if (r.status === 'PENDING' && svc.autoscaler.nextLaunchAt) at = Math.min(at, svc.autoscaler.nextLaunchAt);
    }
    const h = nextHysteresisAt(svc.autoscaler, this.spec(name, svc.version));
    if (h !== undefined) at = Math.min(at, h);
    // the request rate moves the target: keep reading it while it can matter
    if (this.spec(name, svc.version).targetQpsPerReplica !== undefined || rt.statsAt === 0) at = Math.min(at, rt.statsAt + this.opts.statsIntervalMs);
    else at = Math.min(at, rt.statsAt + Math.max(this.opts.statsIntervalMs, 5000));
    return Math.max(20, at - now);
  }

  // ---- serve down ----

  private async shutdown(svc: ServiceRecord, rt: Runtime): Promise<void> {
    const name = svc.name;
    this.opts.log(name, 'shutting down: stopping the load balancer, then every replica');
    await rt.link.kill();
    rt.lbUp = false;
    const now = Date.now();
    this.mutate(name, (s) => ({ ...s, replicas: s.replicas.map((r) => (r.endedAt !== undefined ? r : { ...shutDown(r, now, {}), status: 'SHUTTING_DOWN' as const })) }));
    while (rt.launching.size > 0) await this.sleep(rt, 200);
    const cur = this.store.getService(name);
    if (!cur) return;
    const errors: string[] = [];
    await Promise.all(
      cur.replicas.map((r) =>
        this.backend.teardown(r.cluster, { purge: cur.purge }).catch((err) => {
          errors.push(`replica ${r.id}: ${errorMessage(err)}`);
        }),
      ),
    );
    if (errors.length > 0) {
      this.opts.log(name, `teardown failed: ${errors.join('; ')}`);
      this.mutate(name, (s) => ({ ...s, status: 'FAILED_CLEANUP', statusReason: `${errors[0]} (\`aloft serve down ${name} --purge\` forgets it)` }));
      return;
    }
    this.opts.log(name, 'service removed');
    this.store.removeService(name, `service ${name} removed`);
    for (const k of [...this.specs.keys()]) if (k.startsWith(`${name}@`)) this.specs.delete(k);
    this.runtimes.delete(name);
    this.opts.forget(name);
  }
}

/** `ports` with `port` among them (a range that covers it counts). */
function withPort(ports: string[], port: number): string[] {
  return ports.some((p) => inRange(p, port)) ? ports : [...ports, String(port)];
}
