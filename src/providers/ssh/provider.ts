// SSH node pools: a cluster is N hosts reserved from a pool in ALOFT_HOME/ssh_node_pools.yaml
// (one cluster per host unless the pool is `shared`). Each node is a runtime directory
// ~/.aloft-runtime/<cluster>-<uid>/node-<rank> on its host, so two pool entries that are the
// same machine never collide. Stop kills the node's processes and keeps the hosts; down also
// removes the directories and releases the hosts.
import { join } from 'node:path';
import type { NodeResources } from '../../protocol/model.js';
import { errorMessage, UserError } from '../../util/errors.js';
import { aloftHome } from '../../util/paths.js';
import { detectResources } from '../detect.js';
import type {
  ClusterInfo,
  LiveOffering,
  NodeInfo,
  Provider,
  ProviderCapabilities,
  ProvisionRequest,
  Transport,
} from '../types.js';
import { SshConnection, type SshEndpoint } from './connection.js';
import { SshConnections } from './connections.js';
import { KnownHosts } from './known-hosts.js';
import { summarizePools, type PoolHostStatus, type PoolSummary } from './inspect.js';
import { getPool, loadPools, poolsPath, type Pool, type PoolHost } from './pools.js';
import { AgentInstaller, probeHost, runtimeNodeHome, sweepDir } from './remote.js';
import { JsonReservationStore, Mutex, type ReservationStore, type ReservedNode, type SshReservation } from './reservations.js';
import { writeSshConfig } from './ssh-config.js';
import { SshTransport } from './transport.js';
import { withTimeout } from '../../util/timeout.js';

export interface SshProviderOptions {
  home?: string;
  /** where reservations live (default: ALOFT_HOME/ssh/reservations.json) */
  reservations?: ReservationStore;
  connectTimeoutMs?: number;
  keepaliveMs?: number;
}

export class SshProvider implements Provider {
  readonly name = 'ssh';
  readonly capabilities: ProviderCapabilities = {
    stop: true,
    spot: false,
    multiNode: true,
    openPorts: false,
    preemptible: false,
    sessions: true,
  };
  readonly home: string;
  readonly knownHosts: KnownHosts;
  readonly reservations: ReservationStore;
  private readonly connections: SshConnections;
  private readonly reserveLock = new Mutex();
  private readonly agents = new AgentInstaller();
  private readonly inspected = new Map<string, { at: number; row: Omit<PoolHostStatus, 'clusters'> }>();

  constructor(opts: SshProviderOptions = {}) {
    this.home = opts.home ?? aloftHome();
    this.knownHosts = new KnownHosts(join(this.home, 'ssh', 'known_hosts'));
    this.reservations = opts.reservations ?? new JsonReservationStore(join(this.home, 'ssh', 'reservations.json'));
    this.connections = new SshConnections({
      knownHosts: this.knownHosts,
      connectTimeoutMs: opts.connectTimeoutMs,
      keepaliveMs: opts.keepaliveMs,
    });
  }

  // ---- connections ----

  private connection(e: SshEndpoint & { key: string }): SshConnection {
    // A new connection when the pools file changed the key or password for this host since.
    return this.connections.get(e);
  }

  /** A transport to the host itself (login dir, no node environment). */
  hostTransport(h: PoolHost): SshTransport {
    return new SshTransport(this.connection({ ...h, host: h.ip }));
  }

  private endpointOf(pool: string, n: ReservedNode): SshEndpoint & { key: string } {
    // Credentials come from the pools file as it is now (passwords are only kept there); the
    // reservation's record covers a host since removed from the file.
    let current: PoolHost | undefined;
    try {
      current = loadPools(this.home).get(pool)?.hosts.find((h) => h.key === n.hostKey);
    } catch {
      /* a broken pools file must not stop a running cluster from being reached */
    }
    const identityFile = current ? current.identityFile : n.identityFile;
    return { key: n.hostKey, host: n.ip, port: n.port, user: n.user, identityFile, password: current?.password };
  }

  private reservedNode(cluster: string, rank: number): { r: SshReservation; n: ReservedNode } {
    const r = this.reservations.get(cluster);
    const n = r?.nodes.find((x) => x.rank === rank);
    if (!r || !n) throw new UserError(`ssh cluster '${cluster}' has no node ${rank} (no reservation)`);
    return { r, n };
  }

  transport(cluster: string, node: NodeInfo): Transport {
    const { r, n } = this.reservedNode(cluster, node.rank);
    return new SshTransport(this.connection(this.endpointOf(r.pool, n)), {
      home: n.home,
      env: { ALOFT_NODE_DIR: n.home },
    });
  }

  /** Where `aloft ssh` and the generated ssh config log in for a node. */
  sshTarget(cluster: string, rank: number): SshEndpoint & { home: string } {
    const { r, n } = this.reservedNode(cluster, rank);
    const e = this.endpointOf(r.pool, n);
    return { host: e.host, port: e.port, user: e.user, identityFile: e.identityFile, home: n.home };
  }

  /** What `aloft ssh` opens (the daemon's nodeTarget): the system ssh into the node's directory. */
  sessionTarget(
    cluster: string,
    node: NodeInfo,
  ): { kind: 'ssh'; host: string; port: number; user: string; identityFile?: string; home: string; env: Record<string, string> } {
    const t = this.sshTarget(cluster, node.rank);
    return {
      kind: 'ssh',
      host: t.host,
      port: t.port,
      user: t.user,
      identityFile: t.identityFile,
      home: t.home,
      env: { ALOFT_NODE_DIR: t.home, SKYPILOT_NODE_RANK: String(node.rank) },
    };
  }

  /** Closes every connection (tests, daemon shutdown). */
  closeAll(): void {
    this.connections.closeAll();
  }

  /** Records a change of reservations and rewrites ALOFT_HOME/ssh/config to match. */
  private save(r: SshReservation | { remove: string }): void {
    if ('remove' in r) this.reservations.remove(r.remove);
    else this.reservations.put(r);
    try {
      this.writeSshConfig();
    } catch {
      /* the config is a convenience; provisioning does not depend on it */
    }
  }

  /** ALOFT_HOME/ssh/config with a Host entry per ssh cluster (head, then <cluster>-workerN). */
  writeSshConfig(): string {
    const clusters = this.reservations.list().map((r) => ({
      name: r.cluster,
      nodes: r.nodes
        .slice()
        .sort((a, b) => a.rank - b.rank)
        .map((n) => ({ host: n.ip, port: n.port, user: n.user, identityFile: n.identityFile })),
    }));
    return writeSshConfig(clusters, this.home);
  }

  // ---- pools ----

  async check(): Promise<{ ok: boolean; reason?: string }> {
    try {
      const pools = loadPools(this.home);
      if (pools.size === 0) return { ok: false, reason: `no ssh node pools: create ${poolsPath(this.home)}` };
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: errorMessage(err) };
    }
  }

  private holders(): Map<string, string[]> {
    const m = new Map<string, string[]>();
    for (const r of this.reservations.list()) {
      for (const n of r.nodes) m.set(n.hostKey, [...(m.get(n.hostKey) ?? []), r.cluster]);
    }
    return m;
  }

  /**
   * Every host of every pool: reachable or why not, resources, holders. Probes run in parallel,
   * each bounded by `timeoutMs`; answers younger than `maxAgeMs` are reused (planning asks often).
   */
  async inspectPools(opts: { timeoutMs?: number; maxAgeMs?: number } = {}): Promise<PoolHostStatus[]> {
    const holders = this.holders();
    const timeoutMs = opts.timeoutMs ?? 15_000;
    const maxAge = opts.maxAgeMs ?? 0;
    const probeOne = async (h: PoolHost): Promise<Omit<PoolHostStatus, 'clusters'>> => {
      const cached = this.inspected.get(h.key);
      if (cached && Date.now() - cached.at <= maxAge) return cached.row;
      const row: Omit<PoolHostStatus, 'clusters'> = { pool: h.pool, host: h.key, reachable: false };
      try {
        const t = this.hostTransport(h);
        const work = (async () => {
          await probeHost(t, h.key);
          return detectResources(t);
        })();
        row.resources = await withTimeout(work, timeoutMs, `cannot reach ${h.key}: timed out`);
        row.reachable = true;
      } catch (err) {
        row.reason = errorMessage(err);
      }
      this.inspected.set(h.key, { at: Date.now(), row });
      return row;
    };
    const pools = [...loadPools(this.home).values()];
    const rows = await Promise.all(
      pools.flatMap((pool) =>
        pool.hosts.map(async (h): Promise<PoolHostStatus> => ({ ...(await probeOne(h)), pool: pool.name, clusters: holders.get(h.key) ?? [] })),
      ),
    );
    return rows.sort((a, b) => (a.pool === b.pool ? a.host.localeCompare(b.host) : a.pool.localeCompare(b.pool)));
  }

  /** Offerings plus, for pools short of free hosts, why each other host cannot be used. */
  async liveOfferingsWithProblems(): Promise<PoolSummary> {
    // Bounded so planning stays quick; provisioning probes again with the full timeout.
    return summarizePools(await this.inspectPools({ timeoutMs: 4000, maxAgeMs: 20_000 }), loadPools(this.home));
  }

  async liveOfferings(): Promise<LiveOffering[]> {
    return (await this.liveOfferingsWithProblems()).offerings;
  }

  /** One line on why pool `name` has too few free hosts (for the planner's message), or undefined. */
  async poolProblems(name: string): Promise<string | undefined> {
    const p = (await this.liveOfferingsWithProblems()).problems.get(name);
    return p && p.length ? `ssh pool '${name}': ${p.join('; ')}` : undefined;
  }

  // ---- lifecycle ----

  private info(r: SshReservation): ClusterInfo {
    const nodes: NodeInfo[] = r.nodes
      .slice()
      .sort((a, b) => a.rank - b.rank)
      .map((n) => ({ rank: n.rank, ip: n.ip, home: n.home, instanceId: `ssh:${n.hostKey}`, status: r.status }));
    return { cluster: r.cluster, nodes, region: r.pool };
  }

  async runInstances(req: ProvisionRequest): Promise<ClusterInfo> {
    const poolName = req.region;
    if (!poolName) throw new UserError('infra ssh needs a pool name: --infra ssh/POOL');
    return this.reserveLock.run(async () => {
      const existing = this.reservations.get(req.cluster);
      if (existing && existing.clusterUid === req.clusterUid) {
        if (existing.nodes.length !== req.numNodes) {
          throw new UserError(`cluster ${req.cluster} holds ${existing.nodes.length} ssh host(s), not ${req.numNodes}`);
        }
        // start (or relaunch): the same hosts, checked again.
        await Promise.all(
          existing.nodes.map(async (n) => {
            const t = new SshTransport(this.connection(this.endpointOf(existing.pool, n)));
            await probeHost(t, n.hostKey);
          }),
        );
        const r = { ...existing, status: 'running' as const };
        this.save(r);
        return this.info(r);
      }
      if (existing) {
        // A previous incarnation of this name that was never released: clear it out first.
        await this.cleanup(existing, true);
        this.save({ remove: req.cluster });
      }
      const pool = getPool(poolName, this.home);
      const r = await this.reserve(pool, req);
      this.save(r);
      return this.info(r);
    });
  }

  private async reserve(pool: Pool, req: ProvisionRequest): Promise<SshReservation> {
    const holders = this.holders();
    const skipped: Array<{ index: number; why: string }> = [];
    const candidates: PoolHost[] = [];
    for (const h of pool.hosts) {
      const by = holders.get(h.key);
      if (by && !pool.shared) skipped.push({ index: h.index, why: `${h.key}: in use by cluster ${by.join(', ')}` });
      else candidates.push(h);
    }
    const chosen: Array<{ host: PoolHost; home: string }> = [];
    let next = 0;
    // Probe as many hosts as are still needed at once; each failure makes room for the next.
    while (chosen.length < req.numNodes && next < candidates.length) {
      const batch = candidates.slice(next, next + (req.numNodes - chosen.length));
      next += batch.length;
      const results = await Promise.all(
        batch.map(async (h) => {
          try {
            return { h, probe: await probeHost(this.hostTransport(h), h.key) };
          } catch (err) {
            return { h, err: errorMessage(err) };
          }
        }),
      );
      for (const res of results) {
        if ('probe' in res && res.probe) chosen.push({ host: res.h, home: res.probe.home });
        else {
          skipped.push({ index: res.h.index, why: `${res.h.key}: ${res.err}` });
          req.onProgress?.(`skipping ssh host ${res.h.key}: ${res.err}`);
        }
      }
    }
    if (chosen.length < req.numNodes) {
      throw new UserError(
        `ssh pool '${pool.name}' has ${chosen.length} usable host(s) for ${req.numNodes} node(s)` +
          (skipped.length ? `: ${skipped.sort((x, y) => x.index - y.index).map((x) => x.why).join('; ')}` : ''),
        'SSH_NO_HOSTS',
      );
    }
    const nodes: ReservedNode[] = chosen.map(({ host, home }, rank) => {
      req.onProgress?.(`node ${rank}: ${host.key}`);
      return {
        rank,
        hostKey: host.key,
        ip: host.ip,
        port: host.port,
        user: host.user,
        identityFile: host.identityFile,
        remoteHome: home,
        home: runtimeNodeHome(home, req.cluster, req.clusterUid, rank),
      };
    });
    return { cluster: req.cluster, clusterUid: req.clusterUid, pool: pool.name, status: 'running', nodes, createdAt: Date.now() };
  }

  async waitInstances(cluster: string, state: 'running' | 'stopped' | 'terminated'): Promise<void> {
    const r = this.reservations.get(cluster);
    const now = r ? r.status : 'terminated';
    if (now !== state) throw new Error(`ssh cluster ${cluster} is ${now}, not ${state}`);
  }

  async queryInstances(cluster: string): Promise<ClusterInfo | undefined> {
    const r = this.reservations.get(cluster);
    return r ? this.info(r) : undefined;
  }

  async getClusterInfo(cluster: string): Promise<ClusterInfo> {
    const r = this.reservations.get(cluster);
    if (!r) throw new UserError(`ssh cluster '${cluster}' holds no hosts`);
    return this.info(r);
  }

  /** Kills the cluster's processes on every host (the runtime dir marks them); `remove` deletes the dirs. */
  private async cleanup(r: SshReservation, remove: boolean): Promise<void> {
    const clusterDir = (n: ReservedNode) => n.home.slice(0, n.home.lastIndexOf('/'));
    const byHost = new Map<string, ReservedNode>();
    for (const n of r.nodes) byHost.set(n.hostKey, n);
    const failures: string[] = [];
    await Promise.all(
      [...byHost.values()].map(async (n) => {
        try {
          const t = new SshTransport(this.connection(this.endpointOf(r.pool, n)));
          await sweepDir(t, clusterDir(n), n.hostKey, remove);
        } catch (err) {
          failures.push(errorMessage(err));
        }
      }),
    );
    if (failures.length) throw new Error(`cluster ${r.cluster}: ${failures.join('; ')}`);
  }

  async stopInstances(cluster: string): Promise<void> {
    const r = this.reservations.get(cluster);
    if (!r) return;
    await this.cleanup(r, false);
    this.save({ ...r, status: 'stopped' });
  }

  async terminateInstances(cluster: string): Promise<void> {
    await this.reserveLock.run(async () => {
      const r = this.reservations.get(cluster);
      if (!r) return;
      // The reservation stays when a host cannot be cleaned, so a retry cleans it then.
      await this.cleanup(r, true);
      this.save({ remove: cluster });
    });
  }

  async forgetInstances(cluster: string): Promise<void> {
    await this.reserveLock.run(async () => {
      if (this.reservations.get(cluster)) this.save({ remove: cluster });
    });
  }

  // ---- nodes ----

  async detectResources(t: Transport, _node: NodeInfo): Promise<NodeResources> {
    return detectResources(t);
  }

  async ensureAgent(t: Transport, node: NodeInfo, localBundle: string): Promise<string> {
    if (!(t instanceof SshTransport)) throw new Error('ssh provider: ensureAgent needs an ssh transport');
    const where = node.instanceId.replace(/^ssh:/, '');
    // Two pool entries for one machine (other ports) share an upload.
    return this.agents.ensure(t, node.home, localBundle, where.replace(/:\d+$/, ''), where);
  }
}
