// The embedded default infra: a cluster of N nodes is N directories under
// ALOFT_HOME/local/<cluster>/, each with its own agent process. Nodes share this machine's
// cores, memory and GPUs; "stop" kills the processes and keeps the directories. Where the machine
// allows it (isolation/), each node also gets its own namespaces: its own `/` and /tmp, hostname
// and network address (SKYPILOT_NODE_IPS differ; fixed ports never collide).
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import type { NodeResources } from '../../protocol/model.js';
import type { NodeTarget } from '../../protocol/api.js';
import { PROXY_URLS } from '../../util/env.js';
import { UserError } from '../../util/errors.js';
import { loopbackUrlVia } from '../../util/loopback-url.js';
import { agentBundlePath } from '../../util/paths.js';
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
import { seedNodeHome } from './home.js';
import { writeLocalSshConfig, type LocalSshNode } from './ssh-access.js';
import {
  claimTop,
  configuredSupport,
  destinationProblem,
  destinationTop,
  enterArgs,
  nodeHostPath,
  readRecord,
  setupCluster,
  subnetOf,
  sweepLeftovers,
  teardownCluster,
  type IsolationRecord,
  type IsolationSupport,
} from './isolation/index.js';
import { detachMountsUnder } from './mounts.js';
import { sweep } from './processes.js';
import { LocalTransport } from './transport.js';

export interface LocalProviderOptions {
  /** config.yaml's `local.namespaces` (default on where the machine allows it) */
  namespaces?: () => Promise<boolean>;
  /** the user's home, that a new node's home is seeded from (home.ts) */
  userHome?: string;
}

export class LocalProvider implements Provider {
  readonly name = 'local';
  readonly capabilities: ProviderCapabilities = {
    stop: true,
    spot: true,
    multiNode: true,
    openPorts: false,
    preemptible: true,
    sessions: false,
  };
  private hostResources?: Promise<NodeResources>;
  private records = new Map<string, IsolationRecord | undefined>();

  constructor(
    private readonly root: string,
    private readonly opts: LocalProviderOptions = {},
  ) {
    // What clusters of deleted homes left on the machine (namespaces, links, subnet claims).
    if (process.platform === 'linux' && process.getuid?.() === 0) void sweepLeftovers().catch(() => undefined);
  }

  clusterDir(cluster: string): string {
    return join(this.root, cluster);
  }

  nodeDir(cluster: string, rank: number): string {
    return join(this.root, cluster, String(rank));
  }

  /** What node isolation this machine (and config.yaml) allows for new clusters. */
  async isolation(): Promise<IsolationSupport> {
    return configuredSupport((await this.opts.namespaces?.()) ?? true);
  }

  async check(): Promise<{ ok: boolean; reason?: string }> {
    return { ok: true };
  }

  async liveOfferings(): Promise<LiveOffering[]> {
    return [{ cloud: 'local', region: 'local', resources: await this.host(), available: Number.MAX_SAFE_INTEGER }];
  }

  private host(): Promise<NodeResources> {
    this.hostResources ??= detectResources(new LocalTransport(os.tmpdir())).catch(() => ({
      cpus: os.cpus().length,
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      accelerators: {},
    }));
    return this.hostResources;
  }

  /** Host paths a node must keep seeing inside its own filesystem (isolation/filesystem.ts). */
  private needs(): string[] {
    const sockets = join(tmpdir(), `aloft-agents-${process.getuid?.() ?? 0}`);
    // `ssh CLUSTER`'s sshd reads its keys and configuration there (ssh-access.ts).
    const ssh = join(dirname(this.root), 'ssh');
    // (all of them stay visible in a node: mount points cannot shadow the directories holding them)
    for (const d of [sockets, ssh]) mkdirSync(d, { recursive: true, mode: 0o700 });
    return [this.root, sockets, ssh, dirname(agentBundlePath()), dirname(process.execPath), ...(this.opts.userHome ? [this.opts.userHome] : [])];
  }

  async runInstances(req: ProvisionRequest): Promise<ClusterInfo> {
    const existing = this.ranksOnDisk(req.cluster);
    if (existing.length > 0 && existing.length !== req.numNodes) {
      throw new Error(`cluster ${req.cluster} has ${existing.length} node(s) on disk, not ${req.numNodes}`);
    }
    const ranks = Array.from({ length: req.numNodes }, (_, r) => r);
    for (const rank of ranks) {
      const dir = this.nodeDir(req.cluster, rank);
      if (existsSync(dir)) continue;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      seedNodeHome(dir, this.opts.userHome);
    }
    rmSync(this.preemptedMarker(req.cluster), { force: true });
    const fresh = existing.length === 0;
    const support = await this.isolation();
    // A cluster keeps the isolation it was created with (a plain one stays plain).
    if (fresh ? support.fs || support.net : readRecord(this.clusterDir(req.cluster)) !== undefined) {
      try {
        const rec = await setupCluster(
          { cluster: req.cluster, clusterDir: this.clusterDir(req.cluster), ranks, nodeDir: (r) => this.nodeDir(req.cluster, r), needs: this.needs() },
          support,
        );
        this.records.set(req.cluster, rec);
        if (fresh) req.onProgress?.(describeIsolation(rec, support));
      } catch (err) {
        await this.terminateInstances(req.cluster).catch(() => undefined);
        throw err;
      }
    } else if (fresh) req.onProgress?.(describeIsolation(undefined, support));
    this.refreshSshConfig();
    return this.getClusterInfo(req.cluster);
  }

  async waitInstances(): Promise<void> {
    // Directories (and namespaces) exist as soon as runInstances returns.
  }

  private ranksOnDisk(cluster: string): number[] {
    const dir = this.clusterDir(cluster);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .sort((a, b) => a - b);
  }

  private record(cluster: string): IsolationRecord | undefined {
    if (!this.records.has(cluster)) this.records.set(cluster, readRecord(this.clusterDir(cluster)));
    return this.records.get(cluster);
  }

  async queryInstances(cluster: string): Promise<ClusterInfo | undefined> {
    if (this.ranksOnDisk(cluster).length === 0) return undefined;
    return this.getClusterInfo(cluster);
  }

  private preemptedMarker(cluster: string): string {
    return join(this.clusterDir(cluster), 'preempted');
  }

  async getClusterInfo(cluster: string): Promise<ClusterInfo> {
    // A preempted spot node is gone as far as anyone above the provider can tell.
    const status = existsSync(this.preemptedMarker(cluster)) ? 'terminated' : 'running';
    const rec = this.record(cluster);
    const nodes: NodeInfo[] = this.ranksOnDisk(cluster).map((rank) => ({
      rank,
      ip: rec?.ips[rank] ?? '127.0.0.1',
      home: this.nodeDir(cluster, rank),
      instanceId: `local:${cluster}:${rank}`,
      status,
    }));
    return { cluster, nodes, region: 'local' };
  }

  async stopInstances(cluster: string): Promise<void> {
    // The namespaces stay: a stopped node keeps its address and its own files.
    await sweep(this.clusterDir(cluster));
    await detachMountsUnder(this.clusterDir(cluster));
  }

  async terminateInstances(cluster: string): Promise<void> {
    const dir = this.clusterDir(cluster);
    await sweep(dir);
    await detachMountsUnder(dir);
    await teardownCluster(dir, this.ranksOnDisk(cluster), (r) => this.nodeDir(cluster, r));
    this.records.delete(cluster);
    rmSync(dir, { recursive: true, force: true });
    this.refreshSshConfig();
  }

  /** Kills a cluster's processes abruptly, the way a cloud reclaims a spot instance. */
  async preempt(cluster: string): Promise<void> {
    writeFileSync(this.preemptedMarker(cluster), String(Date.now()));
    await sweep(this.clusterDir(cluster), 0);
  }

  transport(cluster: string, node: NodeInfo): Transport {
    const rec = this.record(cluster);
    return new LocalTransport(node.home, { ...this.proxyEnv(cluster), ALOFT_NODE_DIR: node.home }, {
      enter: (cwd) => enterArgs(rec, node.home, node.rank, cwd),
      ...(rec?.fs ? { ownPath: (dest: string) => this.ownPath(node.home, dest) } : {}),
    });
  }

  /**
   * A node with its own network reaches this machine's loopback services at its gateway
   * (isolation/network.ts); a plain node shares this machine's loopback, so URLs stay as they are.
   */
  nodeUrl(cluster: string, url: string): string {
    const rec = this.record(cluster);
    return rec?.net && rec.subnet !== undefined ? loopbackUrlVia(url, subnetOf(rec.subnet).gateway) : url;
  }

  /**
   * A node inherits the proxy settings of this machine (util/env.ts); for a node with its own
   * network, a proxy on this machine's loopback (cntlm, a local squid) is at the gateway, and the
   * gateway joins NO_PROXY: it is this machine's loopback seen from the node (rclone's endpoint
   * and a git remote are rewritten to it), which a proxy elsewhere could not reach. Only what
   * changes: the rest comes from the node environment as it is.
   */
  private proxyEnv(cluster: string): Record<string, string> {
    const rec = this.record(cluster);
    const set = PROXY_URLS.filter((k) => process.env[k]);
    if (!rec?.net || rec.subnet === undefined || set.length === 0) return {};
    const gateway = subnetOf(rec.subnet).gateway;
    const out: Record<string, string> = {};
    for (const k of set) {
      const url = loopbackUrlVia(process.env[k]!, gateway);
      if (url !== process.env[k]) out[k] = url;
    }
    const { NO_PROXY: upper, no_proxy: lower } = process.env;
    out.NO_PROXY = [upper ?? lower, gateway].filter(Boolean).join(',');
    out.no_proxy = [lower ?? upper, gateway].filter(Boolean).join(',');
    return out;
  }

  /** Host path of an absolute node path that is the node's own, made visible in the node. */
  private async ownPath(nodeDir: string, dest: string): Promise<string> {
    await claimTop(nodeDir, destinationTop(dest));
    return nodeHostPath(nodeDir, dest);
  }

  /**
   * A file-mount destination on a local node: under ~/ always (not leaving it); absolute only on
   * nodes with their own filesystem, and only where it does not hide what the node shares with
   * this machine. One line naming why not, the same for --dryrun, launch and exec.
   */
  async checkMountDestination(dest: string, cluster?: string): Promise<void> {
    if (!dest.startsWith('/')) {
      const rel = posix.normalize(dest === '~' ? '.' : dest.startsWith('~/') ? dest.slice(2) : dest);
      if (rel === '..' || rel.startsWith('../')) {
        throw new UserError(`file_mounts: destination '${dest}' leaves the node's home directory; on the local infra use a path under ~/`);
      }
      return;
    }
    const rec = cluster !== undefined && this.ranksOnDisk(cluster).length > 0 ? this.record(cluster) : undefined;
    if (cluster !== undefined && this.ranksOnDisk(cluster).length > 0 && !rec?.fs) {
      throw new UserError(`file_mounts: absolute destination '${dest}' needs a node with its own filesystem, and local cluster '${cluster}' was created without one; use a path under ~/ (or a new cluster)`);
    }
    const support = await this.isolation();
    if (!rec && !support.fs) {
      throw new UserError(`file_mounts: absolute destination '${dest}' needs each local node to have its own filesystem, but ${support.fsWhy}; use a path under ~/ instead`);
    }
    const why = destinationProblem(dest, this.needs());
    if (why) throw new UserError(`file_mounts: ${why}`);
  }

  /** `aloft ssh` on a local node: a shell inside its namespaces, in its workdir. */
  sessionTarget(cluster: string, node: NodeInfo): NodeTarget {
    const workdir = join(node.home, 'sky_workdir');
    const cwd = existsSync(workdir) ? workdir : node.home;
    return {
      kind: 'local',
      home: node.home,
      cwd,
      enter: enterArgs(this.record(cluster), node.home, node.rank, cwd),
      env: { ...this.proxyEnv(cluster), HOME: node.home, ALOFT_NODE_DIR: node.home, SKYPILOT_NODE_RANK: String(node.rank) },
    };
  }

  private sshConfigWrites: Promise<void> = Promise.resolve();

  /**
   * ALOFT_HOME/ssh/local.config: `ssh CLUSTER` for every local cluster (ssh-access.ts). Written
   * in the background, one write at a time: no launch waits for it.
   */
  private refreshSshConfig(): void {
    this.sshConfigWrites = this.sshConfigWrites.then(() => this.writeSshConfig());
  }

  /** (awaitable, for tests) */
  async writeSshConfig(): Promise<void> {
    const nodes: LocalSshNode[] = [];
    let clusters: string[] = [];
    try {
      clusters = readdirSync(this.root);
    } catch {
      /* no local cluster yet */
    }
    for (const cluster of clusters) {
      const rec = this.record(cluster);
      for (const rank of this.ranksOnDisk(cluster)) {
        const nodeDir = this.nodeDir(cluster, rank);
        nodes.push({ cluster, rank, nodeDir, enter: enterArgs(rec, nodeDir, rank, nodeDir), env: this.proxyEnv(cluster) });
      }
    }
    await writeLocalSshConfig(dirname(this.root), nodes).catch(() => {
      /* a convenience: launches never depend on it */
    });
  }

  async detectResources(_t: Transport, _node: NodeInfo): Promise<NodeResources> {
    return this.host();
  }

  async ensureAgent(_t: Transport, _node: NodeInfo, localBundle: string): Promise<string> {
    // Same filesystem: run the bundle where it is.
    return localBundle;
  }
}

/** One progress line: what a new cluster's nodes got, and why not the rest. */
function describeIsolation(rec: IsolationRecord | undefined, s: IsolationSupport): string {
  if (!rec?.fs && !rec?.net && s.fsWhy === s.netWhy) return `local nodes share this machine's filesystem and network: ${s.fsWhy ?? 'isolation is off'}`;
  const parts: string[] = [];
  parts.push(rec?.net ? `own addresses ${Object.values(rec.ips).join(', ')}` : `this machine's network (${s.netWhy})`);
  parts.push(rec?.fs ? 'own / and /tmp' : `this machine's filesystem (${s.fsWhy})`);
  return `local nodes: ${parts.join('; ')}`;
}
