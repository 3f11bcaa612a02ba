// The embedded default infra: a cluster of N nodes is N directories under
// ALOFT_HOME/local/<cluster>/, each with its own agent process. Nodes share this machine's
// cores, memory and GPUs; "stop" kills the processes and keeps the directories.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { NodeResources } from '../../protocol/model.js';
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
import { detachMountsUnder } from './mounts.js';
import { sweep } from './processes.js';
import { LocalTransport } from './transport.js';

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

  constructor(private readonly root: string) {}

  clusterDir(cluster: string): string {
    return join(this.root, cluster);
  }

  nodeDir(cluster: string, rank: number): string {
    return join(this.root, cluster, String(rank));
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

  async runInstances(req: ProvisionRequest): Promise<ClusterInfo> {
    const existing = this.ranksOnDisk(req.cluster);
    if (existing.length > 0 && existing.length !== req.numNodes) {
      throw new Error(`cluster ${req.cluster} has ${existing.length} node(s) on disk, not ${req.numNodes}`);
    }
    for (let rank = 0; rank < req.numNodes; rank++) {
      mkdirSync(this.nodeDir(req.cluster, rank), { recursive: true, mode: 0o700 });
    }
    rmSync(this.preemptedMarker(req.cluster), { force: true });
    return this.getClusterInfo(req.cluster);
  }

  async waitInstances(): Promise<void> {
    // Directories exist as soon as runInstances returns.
  }

  private ranksOnDisk(cluster: string): number[] {
    const dir = this.clusterDir(cluster);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .sort((a, b) => a - b);
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
    const nodes: NodeInfo[] = this.ranksOnDisk(cluster).map((rank) => ({
      rank,
      ip: '127.0.0.1',
      home: this.nodeDir(cluster, rank),
      instanceId: `local:${cluster}:${rank}`,
      status,
    }));
    return { cluster, nodes, region: 'local' };
  }

  async stopInstances(cluster: string): Promise<void> {
    await sweep(this.clusterDir(cluster));
    await detachMountsUnder(this.clusterDir(cluster));
  }

  async terminateInstances(cluster: string): Promise<void> {
    await sweep(this.clusterDir(cluster));
    await detachMountsUnder(this.clusterDir(cluster));
    rmSync(this.clusterDir(cluster), { recursive: true, force: true });
  }

  /** Kills a cluster's processes abruptly, the way a cloud reclaims a spot instance. */
  async preempt(cluster: string): Promise<void> {
    writeFileSync(this.preemptedMarker(cluster), String(Date.now()));
    await sweep(this.clusterDir(cluster), 0);
  }

  transport(_cluster: string, node: NodeInfo): Transport {
    return new LocalTransport(node.home, { ALOFT_NODE_DIR: node.home });
  }

  async detectResources(_t: Transport, _node: NodeInfo): Promise<NodeResources> {
    return this.host();
  }

  async ensureAgent(_t: Transport, _node: NodeInfo, localBundle: string): Promise<string> {
    // Same filesystem: run the bundle where it is.
    return localBundle;
  }
}
