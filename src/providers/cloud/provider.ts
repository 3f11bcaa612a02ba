// The base every VM cloud shares. A cloud gives a CloudDriver (driver.ts: create / list / start /
// stop / terminate / ports / error kinds on its own SDK); this class turns it into a Provider:
//
//   runInstances   record the attempt (ALOFT_HOME/cloud/<cloud>/clusters.json) before anything
//                  exists, create the ranks in one zone with the user's key (keys.ts) and the
//                  bootstrap (bootstrap.ts), wait for running (one list call per poll), wait for
//                  ssh and first-boot scripts, probe Node.js; a failure removes what the attempt
//                  created before the failover loop moves on, and a cloud error becomes a
//                  ProvisionError of the kind the driver says (capacity / quota / credentials).
//                  The same cluster again (start, or a relaunch after a node was lost) starts its
//                  stopped instances and recreates lost ranks in the cluster's zone.
//   queryInstances / queryClusters
//                  node states with the cloud's reason (spot reclaim), batched per region.
//   stop / terminate
//                  through the cloud; terminate waits for it and then removes the security group /
//                  firewall of every region an attempt touched.
//   transport      the ssh provider's SshTransport over one pooled connection per node, host keys
//                  trusted on first use per cluster incarnation (ALOFT_HOME/cloud/known_hosts/).
//   ensureAgent    the ssh provider's agent upload (hash-checked, one per host).
//   setAutostop    what an OS shutdown does on the nodes (stop, or terminate for `--down`): the
//                  head agent powers its nodes off when autostop fires (capabilities.powerOffOnAutostop).
//
// Nodes live where ssh-pool nodes do: ~/.aloft-runtime/<cluster>-<uid>/node-<rank>.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeResources } from '../../protocol/model.js';
import { agentKnobs } from '../../util/env.js';
import { errorMessage, UserError } from '../../util/errors.js';
import { aloftHome } from '../../util/paths.js';
import { detectResources } from '../detect.js';
import { SshConnections } from '../ssh/connections.js';
import { HostKeyChangedError, KnownHosts } from '../ssh/known-hosts.js';
import { AgentInstaller, probeHost, runtimeNodeHome, sweepDir } from '../ssh/remote.js';
import { JsonClusterStore } from '../ssh/reservations.js';
import { SshTransport } from '../ssh/transport.js';
import {
  ProvisionError,
  type ClusterInfo,
  type NodeInfo,
  type Provider,
  type ProviderCapabilities,
  type ProvisionRequest,
  type Transport,
} from '../types.js';
import { BOOTSTRAP_SCRIPT, WAIT_FOR_BOOT } from './bootstrap.js';
import type { CloudDriver, CloudInstance, InstanceState, LaunchSpec } from './driver.js';
import { ensureCloudKey, type CloudKey } from './keys.js';

export interface CloudNodeRecord {
  rank: number;
  instanceId: string;
  privateIp?: string;
  publicIp?: string;
  /** the node's runtime directory (NodeInfo.home), known once ssh answered */
  home?: string;
}

/** What the provider keeps about a cluster of one cloud (the cloud's tags are the truth). */
export interface CloudClusterRecord {
  cluster: string;
  uid: string;
  region: string;
  zone?: string;
  /** every region an attempt of this incarnation touched: down looks in each */
  regions: string[];
  useSpot: boolean;
  instanceType: string;
  /** the accelerator the plan chose with the instance type, kept for re-creating nodes on start */
  accelerator?: { name: string; count: number };
  sshUser: string;
  numNodes: number;
  /** what an OS shutdown of the nodes does now (set at create, changed by setAutostop) */
  shutdownBehavior?: 'stop' | 'terminate';
  nodes: CloudNodeRecord[];
  createdAt: number;
}

export interface VmProviderOptions {
  home?: string;
  /** how long instances may take to reach running / to answer ssh */
  bootTimeoutMs?: number;
  sshTimeoutMs?: number;
  /** poll interval bounds while waiting on the cloud */
  pollMinMs?: number;
  pollMaxMs?: number;
}

const DEFAULT_DISK_GB = 256; // SkyPilot's default disk_size

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function nodeStatus(s: InstanceState): NodeInfo['status'] {
  if (s === 'stopping') return 'stopped';
  if (s === 'shutting-down') return 'terminated';
  return s;
}

export class VmProvider implements Provider {
  readonly name: string;
  readonly capabilities: ProviderCapabilities = {
    stop: true,
    spot: true,
    multiNode: true,
    openPorts: true,
    preemptible: true,
    sessions: true,
    powerOffOnAutostop: true,
  };
  readonly home: string;
  readonly book: JsonClusterStore<CloudClusterRecord>;
  private readonly connections: SshConnections;
  private readonly agents = new AgentInstaller();
  private readonly knownHosts = new Map<string, KnownHosts>();
  private key?: Promise<CloudKey>;
  /** instances this provider created and has not put an agent on yet (nothing to check there) */
  private readonly fresh = new Set<string>();
  /** clusters just brought up (running and answering ssh), by when */
  private readonly upAt = new Map<string, number>();

  constructor(
    readonly driver: CloudDriver,
    private readonly opts: VmProviderOptions = {},
  ) {
    this.name = driver.cloud;
    this.home = opts.home ?? aloftHome();
    this.book = new JsonClusterStore<CloudClusterRecord>(join(this.home, 'cloud', driver.cloud, 'clusters.json'), `${driver.cloud} cluster records`);
    // Every host gets its own known_hosts record below; this default is never used to verify.
    this.connections = new SshConnections({ knownHosts: this.hostKeys('-'), connectTimeoutMs: 10_000 });
  }

  // ---- helpers ----

  private cloudKey(): Promise<CloudKey> {
    this.key ??= ensureCloudKey(this.home).catch((err) => {
      this.key = undefined;
      throw err;
    });
    return this.key;
  }

  /** Host keys of one cluster incarnation: trusted on first use, forgotten at down (clouds reuse IPs). */
  private hostKeys(id: string): KnownHosts {
    let k = this.knownHosts.get(id);
    if (!k) {
      k = new KnownHosts(join(this.home, 'cloud', 'known_hosts', id));
      this.knownHosts.set(id, k);
    }
    return k;
  }

  private sshUser(): string {
    return process.env[`ALOFT_${this.driver.cloud.toUpperCase()}_SSH_USER`] || this.driver.defaultSshUser;
  }

  private record(cluster: string): CloudClusterRecord {
    const r = this.book.get(cluster);
    if (!r) throw new UserError(`${this.name} cluster '${cluster}' has no instances recorded by aloft`);
    return r;
  }

  private where(rec: CloudClusterRecord): string {
    return [this.name, rec.region, rec.zone].filter(Boolean).join('/');
  }

  private sshTransport(rec: CloudClusterRecord, n: CloudNodeRecord, home?: string): SshTransport {
    const host = n.publicIp ?? n.privateIp;
    if (!host) throw new Error(`${this.name} node ${n.rank} of ${rec.cluster} has no address yet`);
    const id = `${rec.cluster}-${rec.uid}`;
    const conn = this.connections.get(
      { key: `${id}/${n.rank}`, host, port: 22, user: rec.sshUser, identityFile: join(this.home, 'ssh', 'aloft-cloud-key') },
      { knownHosts: this.hostKeys(id) },
    );
    return new SshTransport(conn, home ? { home, env: { ALOFT_NODE_DIR: home, ...agentKnobs(process.env) } } : {});
  }

  private info(rec: CloudClusterRecord, found?: CloudInstance[]): ClusterInfo {
    const byId = new Map((found ?? []).map((i) => [i.id, i]));
    const nodes: NodeInfo[] = rec.nodes
      .slice()
      .sort((a, b) => a.rank - b.rank)
      .map((n) => {
        const i = found ? byId.get(n.instanceId) : undefined;
        const status: NodeInfo['status'] = found ? (i ? nodeStatus(i.state) : 'terminated') : 'running';
        const reason = found ? (i ? i.reason : `instance ${n.instanceId} no longer exists`) : undefined;
        return {
          rank: n.rank,
          ip: i?.privateIp ?? n.privateIp ?? n.publicIp ?? '',
          home: n.home ?? '',
          instanceId: n.instanceId,
          status,
          ...(reason ? { reason } : {}),
        };
      });
    return { cluster: rec.cluster, nodes, region: rec.region, zone: rec.zone };
  }

  /** Polls the cloud until `ok` holds for the cluster's instances (backoff from pollMin to pollMax). */
  private async poll(
    rec: CloudClusterRecord,
    what: string,
    timeoutMs: number,
    ok: (found: CloudInstance[]) => boolean | Error,
  ): Promise<CloudInstance[]> {
    const started = Date.now();
    const deadline = started + timeoutMs;
    const min = this.opts.pollMinMs ?? 150;
    let delay = min;
    for (;;) {
      const found = await this.driver.list(rec.region, [rec.uid]);
      const r = ok(found);
      if (r instanceof Error) throw r;
      if (r) return found;
      if (Date.now() > deadline) throw new Error(`${this.where(rec)}: instances of ${rec.cluster} did not become ${what} within ${Math.round(timeoutMs / 1000)}s`);
      await sleep(delay);
      // Closely at first (a fast boot is not kept waiting), then backing off (a slow one is not polled hard).
      if (Date.now() - started > 3000) delay = Math.min(delay * 2, this.opts.pollMaxMs ?? 1000);
    }
  }

  // ---- provisioning ----

  async warm(): Promise<void> {
    await this.driver.warm?.();
  }

  async check(): Promise<{ ok: boolean; reason?: string }> {
    const c = this.driver.credentials();
    return c.ok ? { ok: true } : { ok: false, reason: c.reason };
  }

  async runInstances(req: ProvisionRequest): Promise<ClusterInfo> {
    const prev = this.book.get(req.cluster);
    if (prev && prev.uid === req.clusterUid && prev.nodes.length > 0) return this.resume(prev, req);
    if (prev && prev.uid !== req.clusterUid) {
      // An earlier incarnation of this name that was never torn down: remove it first.
      await this.terminateInstances(req.cluster);
    }
    return this.launch(req, prev?.uid === req.clusterUid ? prev : undefined);
  }

  private async launch(req: ProvisionRequest, prev: CloudClusterRecord | undefined): Promise<ClusterInfo> {
    const region = req.region;
    const instanceType = req.instanceType ?? req.resources.instanceType;
    if (!region) throw new UserError(`${this.name} needs a region (e.g. --infra ${this.name}/REGION)`);
    if (!instanceType) throw new UserError(`${this.name}: no instance type for ${req.cluster}`);
    // A failed attempt in another region left no instances; its security group goes now.
    if (prev && prev.region !== region) await this.driver.cleanup(prev.region, prev.cluster, prev.uid).catch(() => undefined);
    const rec: CloudClusterRecord = {
      cluster: req.cluster,
      uid: req.clusterUid,
      region,
      zone: req.zone,
      regions: [...new Set([...(prev?.regions ?? []), region])],
      useSpot: req.resources.useSpot,
      instanceType,
      sshUser: this.sshUser(),
      numNodes: req.numNodes,
      nodes: [],
      createdAt: Date.now(),
    };
    // Written before anything exists in the cloud: a daemon killed from here on leaves a record
    // that `down` (and the restart's cleanup) follows to the instances by their tags.
    this.book.put(rec);
    const ranks = Array.from({ length: req.numNodes }, (_, i) => i);
    let created = false;
    try {
      await this.create(rec, req, ranks);
      created = true;
      return await this.bringUp(rec, req.onProgress);
    } catch (err) {
      // A partial launch is removed before the next place is tried (nothing to look for when the
      // cloud's create is all-or-nothing and it refused).
      if (created || !this.driver.atomicCreate) {
        await this.removeInstances(rec, region).catch((e) =>
          req.onProgress?.(`${this.where(rec)}: cleaning up the failed attempt failed: ${errorMessage(e)}`),
        );
      }
      rec.nodes = [];
      this.book.put(rec);
      throw this.provisionError(err);
    }
  }

  /** A cloud error as the failover loop understands it; anything else unchanged. */
  private provisionError(err: unknown): unknown {
    if (err instanceof ProvisionError || err instanceof UserError) return err;
    const kind = this.driver.classify(err);
    return kind ? new ProvisionError(this.driver.describeError(err), kind) : err;
  }

  private async create(rec: CloudClusterRecord, req: ProvisionRequest, ranks: number[]): Promise<void> {
    const key = await this.cloudKey();
    const r = req.resources;
    const image = typeof r.imageId === 'string' ? r.imageId : r.imageId?.[rec.region];
    // the plan narrowed the request to one accelerator; a restart's request names none: keep the first one
    const acc = r.accelerators?.[0];
    if (acc && acc.count > 0) rec.accelerator = { name: acc.name, count: acc.count };
    const spec: LaunchSpec = {
      cluster: rec.cluster,
      uid: rec.uid,
      region: rec.region,
      zone: rec.zone,
      ranks,
      instanceType: rec.instanceType,
      ...(rec.accelerator ? { accelerator: rec.accelerator } : {}),
      useSpot: rec.useSpot,
      diskSizeGb: r.diskSize ?? DEFAULT_DISK_GB,
      diskTier: r.diskTier,
      imageId: image,
      ports: r.ports,
      labels: r.labels,
      publicKey: key.publicKey,
      sshUser: rec.sshUser,
      userData: BOOTSTRAP_SCRIPT,
      // One-time spot instances cannot stop; an OS shutdown of one terminates it anyway.
      shutdownBehavior: rec.useSpot ? 'terminate' : 'stop',
      onProgress: req.onProgress,
    };
    req.onProgress?.(
      `${this.where(rec)}: creating ${ranks.length} ${rec.instanceType} instance(s)${rec.useSpot ? ' (spot)' : ''}`,
    );
    const created = await this.driver.create(spec);
    for (const i of created) this.fresh.add(i.id);
    rec.shutdownBehavior = spec.shutdownBehavior;
    const keep = rec.nodes.filter((n) => !ranks.includes(n.rank));
    rec.nodes = [...keep, ...created.map((i) => ({ rank: i.rank, instanceId: i.id, privateIp: i.privateIp, publicIp: i.publicIp }))];
    if (!rec.zone && created[0]?.zone) rec.zone = created[0].zone;
    this.book.put(rec);
  }

  /** Waits for running, then for ssh and first boot on every node; records addresses and homes. */
  private async bringUp(rec: CloudClusterRecord, onProgress?: (m: string) => void): Promise<ClusterInfo> {
    const wanted = new Set(rec.nodes.map((n) => n.instanceId));
    const found = await this.poll(rec, 'running', this.opts.bootTimeoutMs ?? 10 * 60_000, (list) => {
      const mine = list.filter((i) => wanted.has(i.id));
      const dead = mine.find((i) => i.state === 'terminated' || i.state === 'shutting-down');
      if (dead) {
        // A spot instance reclaimed right after launch is a capacity problem of this zone.
        return new ProvisionError(`instance ${dead.id} (rank ${dead.rank}) ${dead.state} while starting${dead.reason ? `: ${dead.reason}` : ''}`, 'capacity');
      }
      return mine.length === wanted.size && mine.every((i) => i.state === 'running' && (i.publicIp || i.privateIp));
    });
    for (const n of rec.nodes) {
      const i = found.find((x) => x.id === n.instanceId);
      if (i) Object.assign(n, { privateIp: i.privateIp, publicIp: i.publicIp });
    }
    this.book.put(rec);
    onProgress?.(`${this.where(rec)}: ${rec.nodes.length} instance(s) running; waiting for ssh`);
    const deadline = Date.now() + (this.opts.sshTimeoutMs ?? 10 * 60_000);
    await Promise.all(
      rec.nodes.map(async (n) => {
        const t = this.sshTransport(rec, n);
        await this.waitForSsh(t, n, deadline);
        const probe = await probeHost(t, `${this.name} node ${n.rank} (${n.instanceId})`);
        n.home = runtimeNodeHome(probe.home, rec.cluster, rec.uid, n.rank);
      }),
    );
    this.book.put(rec);
    this.upAt.set(rec.cluster, Date.now());
    return this.info(rec);
  }

  /** Retries until sshd accepts our key and first-boot scripts (the Node.js install) are done. */
  private async waitForSsh(t: SshTransport, n: CloudNodeRecord, deadline: number): Promise<void> {
    let delay = 100;
    for (;;) {
      try {
        const r = await t.exec(WAIT_FOR_BOOT, { timeoutMs: Math.max(1000, deadline - Date.now()) });
        if (r.code === 0) return;
        throw new Error(r.stderr.trim() || `exit code ${r.code}`);
      } catch (err) {
        // A VM whose host key changed under a known address is not ours to talk to.
        if (err instanceof HostKeyChangedError || Date.now() > deadline) {
          throw new Error(`ssh to ${this.name} node ${n.rank} (${n.instanceId}) did not answer: ${errorMessage(err)}`);
        }
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 2000);
    }
  }

  /** start, or a relaunch after nodes were lost: the cluster's own instances, in its zone. */
  private async resume(rec: CloudClusterRecord, req: ProvisionRequest): Promise<ClusterInfo> {
    const found = await this.driver.list(rec.region, [rec.uid]);
    // Our record knows each instance's rank even if its rank tag never got written.
    const rankOf = (i: CloudInstance) => rec.nodes.find((n) => n.instanceId === i.id)?.rank ?? i.rank;
    const alive = new Map(found.filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down').map((i) => [rankOf(i), i]));
    // Instances still stopping are started once they are stopped.
    if ([...alive.values()].some((i) => i.state === 'stopping')) {
      await this.poll(rec, 'stopped', 10 * 60_000, (l) => !l.some((i) => i.state === 'stopping'));
    }
    const stopped = [...alive.values()].filter((i) => i.state === 'stopped' || i.state === 'stopping');
    try {
      if (stopped.length) {
        req.onProgress?.(`${this.where(rec)}: starting ${stopped.length} stopped instance(s)`);
        await this.driver.start(rec.region, stopped.map((i) => i.id));
      }
      const lost = Array.from({ length: rec.numNodes }, (_, i) => i).filter((r) => !alive.has(r));
      if (lost.length) {
        req.onProgress?.(`${this.where(rec)}: node(s) ${lost.join(', ')} no longer exist; creating them again`);
        await this.create(rec, req, lost);
      }
      if (req.resources.ports.length) await this.driver.openPorts(rec.region, rec.cluster, rec.uid, req.resources.ports);
      return await this.bringUp(rec, req.onProgress);
    } catch (err) {
      throw this.provisionError(err);
    }
  }

  async waitInstances(cluster: string, state: 'running' | 'stopped' | 'terminated', timeoutMs = 10 * 60_000): Promise<void> {
    // runInstances returns once every node runs and answers ssh: asking again right after is moot.
    const up = this.upAt.get(cluster);
    this.upAt.delete(cluster);
    if (state === 'running' && up !== undefined && Date.now() - up < 5000) return;
    const rec = this.book.get(cluster);
    if (!rec) {
      if (state === 'terminated') return;
      throw new Error(`${this.name} cluster ${cluster} has no instances`);
    }
    const ids = new Set(rec.nodes.map((n) => n.instanceId));
    await this.poll(rec, state, timeoutMs, (l) => {
      const mine = l.filter((i) => ids.has(i.id));
      if (state === 'terminated') return mine.every((i) => i.state === 'terminated');
      return mine.length === ids.size && mine.every((i) => i.state === state);
    });
  }

  async queryInstances(cluster: string): Promise<ClusterInfo | undefined> {
    const rec = this.book.get(cluster);
    if (!rec) return undefined;
    return this.info(rec, await this.driver.list(rec.region, [rec.uid]));
  }

  async queryClusters(clusters: string[]): Promise<Map<string, ClusterInfo | undefined>> {
    const out = new Map<string, ClusterInfo | undefined>();
    const byRegion = new Map<string, CloudClusterRecord[]>();
    const all = new Map(this.book.list().map((r) => [r.cluster, r]));
    for (const name of clusters) {
      const rec = all.get(name);
      if (!rec) out.set(name, undefined);
      else byRegion.set(rec.region, [...(byRegion.get(rec.region) ?? []), rec]);
    }
    // One list call per region, whatever the number of clusters in it.
    await Promise.all(
      [...byRegion].map(async ([region, recs]) => {
        const found = await this.driver.list(region, recs.map((r) => r.uid));
        for (const rec of recs) out.set(rec.cluster, this.info(rec, found.filter((i) => i.uid === rec.uid)));
      }),
    );
    return out;
  }

  async getClusterInfo(cluster: string): Promise<ClusterInfo> {
    return this.info(this.record(cluster));
  }

  async checkStop(cluster: string): Promise<void> {
    const rec = this.book.get(cluster);
    if (rec?.useSpot && !this.driver.spotStoppable) {
      throw new UserError(`${this.name} spot instances cannot be stopped; tear the cluster down with \`aloft down ${cluster}\``);
    }
  }

  async stopInstances(cluster: string): Promise<void> {
    const rec = this.book.get(cluster);
    if (!rec) return;
    await this.checkStop(cluster);
    const found = await this.driver.list(rec.region, [rec.uid]);
    const running = found.filter((i) => i.state === 'running' || i.state === 'pending');
    if (running.length) await this.driver.stop(rec.region, running.map((i) => i.id));
    this.connections.drop(`${rec.cluster}-${rec.uid}/`);
    await this.poll(rec, 'stopped', 10 * 60_000, (l) => l.every((i) => i.state === 'stopped' || i.state === 'terminated'));
  }

  /** Repair before start: the running nodes' aloft processes are killed (lost nodes come back in start). */
  async sweepInstances(cluster: string): Promise<void> {
    const rec = this.book.get(cluster);
    if (!rec) return;
    const running = new Set((await this.driver.list(rec.region, [rec.uid])).filter((i) => i.state === 'running').map((i) => i.id));
    await Promise.all(
      rec.nodes
        .filter((n) => n.home && running.has(n.instanceId))
        .map((n) =>
          sweepDir(this.sshTransport(rec, n), n.home!.slice(0, n.home!.lastIndexOf('/')), `${this.name} node ${n.rank}`, false).catch(() => {
            /* a node that does not answer is brought back (or reported) by start */
          }),
        ),
    );
  }

  /** Terminates whatever this cluster has in `region` and waits until it is gone. */
  private async removeInstances(rec: CloudClusterRecord, region: string): Promise<void> {
    const found = (await this.driver.list(region, [rec.uid])).filter((i) => i.state !== 'terminated');
    if (!found.length) return;
    await this.driver.terminate(region, found.map((i) => i.id));
    const r = { ...rec, region };
    await this.poll(r, 'terminated', 10 * 60_000, (l) => l.every((i) => i.state === 'terminated'));
  }

  async terminateInstances(cluster: string): Promise<void> {
    const rec = this.book.get(cluster);
    if (!rec) return;
    for (const region of rec.regions) {
      await this.removeInstances(rec, region);
      // A security group can only go once no instance uses it.
      await this.driver.cleanup(region, rec.cluster, rec.uid);
    }
    this.forget(rec);
  }

  private forget(rec: CloudClusterRecord): void {
    const id = `${rec.cluster}-${rec.uid}`;
    this.upAt.delete(rec.cluster);
    for (const n of rec.nodes) this.fresh.delete(n.instanceId);
    this.connections.drop(`${id}/`);
    this.knownHosts.delete(id);
    rmSync(join(this.home, 'cloud', 'known_hosts', id), { force: true });
    if (this.book.get(rec.cluster)?.uid === rec.uid) this.book.remove(rec.cluster);
  }

  async forgetInstances(cluster: string): Promise<void> {
    const rec = this.book.get(cluster);
    if (rec) this.forget(rec);
  }

  async setAutostop(cluster: string, setting: { idleMinutes: number; down: boolean } | undefined): Promise<void> {
    const rec = this.book.get(cluster);
    if (!rec || rec.nodes.length === 0) return;
    const behavior = rec.useSpot || setting?.down ? 'terminate' : 'stop';
    if (behavior === rec.shutdownBehavior) return;
    await this.driver.setShutdownBehavior(rec.region, rec.nodes.map((n) => n.instanceId), behavior);
    rec.shutdownBehavior = behavior;
    if (this.book.get(cluster)?.uid === rec.uid) this.book.put(rec);
  }

  // ---- nodes ----

  transport(cluster: string, node: NodeInfo): Transport {
    const rec = this.record(cluster);
    const n = rec.nodes.find((x) => x.rank === node.rank);
    if (!n) throw new UserError(`${this.name} cluster '${cluster}' has no node ${node.rank}`);
    return this.sshTransport(rec, n, node.home || n.home);
  }

  async detectResources(t: Transport): Promise<NodeResources> {
    return detectResources(t);
  }

  async ensureAgent(t: Transport, node: NodeInfo, localBundle: string): Promise<string> {
    if (!(t instanceof SshTransport)) throw new Error(`${this.name} provider: ensureAgent needs an ssh transport`);
    const fresh = this.fresh.delete(node.instanceId);
    return this.agents.ensure(t, node.home, localBundle, node.instanceId, `${this.name} node ${node.rank} (${node.instanceId})`, { fresh });
  }

  sessionTarget(cluster: string, node: NodeInfo) {
    const rec = this.record(cluster);
    const n = rec.nodes.find((x) => x.rank === node.rank);
    const host = n?.publicIp ?? n?.privateIp;
    if (!n || !host) throw new UserError(`${this.name} cluster '${cluster}' has no node ${node.rank}`);
    const id = `${rec.cluster}-${rec.uid}`;
    mkdirSync(join(this.home, 'cloud', 'known_hosts'), { recursive: true, mode: 0o700 });
    return {
      kind: 'ssh' as const,
      host,
      port: 22,
      user: rec.sshUser,
      identityFile: join(this.home, 'ssh', 'aloft-cloud-key'),
      knownHostsFile: join(this.home, 'cloud', 'known_hosts', id),
      home: node.home,
      env: { ALOFT_NODE_DIR: node.home, SKYPILOT_NODE_RANK: String(node.rank) },
    };
  }

  closeAll(): void {
    this.connections.closeAll();
    this.driver.close?.();
  }
}
