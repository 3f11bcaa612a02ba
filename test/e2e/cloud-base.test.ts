// The VM cloud base (src/providers/cloud) over the fake VM host, through a minimal driver of our
// own interface (the real drivers, AWS and GCP, are tested through their SDKs against their fakes):
// wait for running + ssh, the agent upload, batched queries, stop/start keeping the disk, a
// partial launch removed before the failover loop moves on, terminate leaving nothing.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudDriver, CloudInstance, LaunchSpec } from '../../src/providers/cloud/driver.js';
import { VmProvider } from '../../src/providers/cloud/provider.js';
import { ProvisionError, type ProvisionRequest } from '../../src/providers/types.js';
import { sshdInstalled, VmHost, type Vm } from '../fakes/vms.js';
import { ROOT } from '../helpers/cli.js';

class CapacityError extends Error {
  override name = 'NoCapacity';
}

/** A cloud of one region over the VM host; `failAfter` makes a create fail after N instances. */
class TinyDriver implements CloudDriver {
  readonly cloud = 'tiny';
  readonly defaultSshUser: string;
  readonly spotStoppable = false;
  failAfter?: number;
  lists = 0;
  readonly vms = new Map<string, { vm: Vm; cluster: string; uid: string; rank: number }>();
  constructor(readonly host: VmHost) {
    this.defaultSshUser = host.user;
  }
  credentials() {
    return { ok: true, reason: 'test' };
  }
  async ping() {
    return 'ok';
  }
  async create(spec: LaunchSpec): Promise<CloudInstance[]> {
    const out: CloudInstance[] = [];
    for (const rank of spec.ranks) {
      if (this.failAfter !== undefined && out.length >= this.failAfter) throw new CapacityError(`no capacity in ${spec.zone}`);
      const vm = this.host.create({ authorizedKeys: [spec.publicKey], userData: spec.userData, ports: [{ from: 22, to: 22 }] });
      this.vms.set(vm.id, { vm, cluster: spec.cluster, uid: spec.uid, rank });
      out.push(this.view(vm.id));
    }
    return out;
  }
  view(id: string): CloudInstance {
    const e = this.vms.get(id)!;
    const s = e.vm.state;
    return {
      id,
      cluster: e.cluster,
      uid: e.uid,
      rank: e.rank,
      region: 'r1',
      zone: 'r1a',
      state: s,
      privateIp: e.vm.privateIp || undefined,
      publicIp: e.vm.publicIp || undefined,
    };
  }
  async list(_region: string, uids?: string[]) {
    this.lists++;
    return [...this.vms.keys()].map((id) => this.view(id)).filter((i) => !uids || uids.includes(i.uid));
  }
  async start(_r: string, ids: string[]) {
    for (const id of ids) void this.vms.get(id)!.vm.start();
  }
  async stop(_r: string, ids: string[]) {
    for (const id of ids) void this.vms.get(id)!.vm.stop();
  }
  async terminate(_r: string, ids: string[]) {
    for (const id of ids) void this.vms.get(id)!.vm.terminate();
  }
  async openPorts() {}
  async cleanup() {}
  async setShutdownBehavior() {}
  classify(err: unknown) {
    return err instanceof CapacityError ? ('capacity' as const) : undefined;
  }
  describeError(err: unknown) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
}

describe.skipIf(!sshdInstalled() && !process.env.CI)('VM cloud base', () => {
  let host: VmHost;
  let home: string;
  let driver: TinyDriver;
  let provider: VmProvider;
  const req = (cluster: string, numNodes: number): ProvisionRequest => ({
    cluster,
    clusterUid: `u${cluster.slice(-1)}`,
    numNodes,
    resources: { infra: { cloud: 'tiny' }, useSpot: false, ports: [], labels: {} },
    region: 'r1',
    zone: 'r1a',
    instanceType: 'small',
  });
  const live = () => [...driver.vms.values()].filter((e) => e.vm.state !== 'terminated');

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'aloft-cb-'));
    host = new VmHost();
    driver = new TinyDriver(host);
    provider = new VmProvider(driver, { home, pollMinMs: 20, pollMaxMs: 100, sshTimeoutMs: 30_000 });
  });

  afterAll(async () => {
    provider?.closeAll();
    await host?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('launches two nodes, reachable over ssh, with the agent uploaded once per node', async () => {
    const info = await provider.runInstances(req('c1', 2));
    expect(info.nodes.map((n) => n.rank)).toEqual([0, 1]);
    for (const n of info.nodes) {
      expect(n.home).toMatch(/\/\.aloft-runtime\/c1-u1\/node-\d$/);
      const t = provider.transport('c1', n);
      const r = await t.exec('echo "rank-home=$PWD node=$ALOFT_NODE_DIR"');
      expect(r.stdout.trim()).toBe(`rank-home=${n.home} node=${n.home}`);
      const bundle = await provider.ensureAgent(t, n, join(ROOT, 'dist', 'agent', 'agent.cjs'));
      expect((await t.exec(`test -s ${bundle} && echo there`)).stdout.trim()).toBe('there');
    }
    // The user's key pair: created once, private part 0600.
    expect(statSync(join(home, 'ssh', 'aloft-cloud-key')).mode & 0o777).toBe(0o600);
    const q = await provider.queryInstances('c1');
    expect(q!.nodes.every((n) => n.status === 'running')).toBe(true);
  });

  it('queries many clusters with one list call per region', async () => {
    const before = driver.lists;
    const m = await provider.queryClusters(['c1', 'nope']);
    expect(driver.lists - before).toBe(1);
    expect(m.get('c1')!.nodes).toHaveLength(2);
    expect(m.get('nope')).toBeUndefined();
  });

  it('stop keeps the disk, start brings the same nodes back', async () => {
    const info = await provider.getClusterInfo('c1');
    await provider.transport('c1', info.nodes[0]!).exec('echo kept > kept.txt');
    await provider.stopInstances('c1');
    expect((await provider.queryInstances('c1'))!.nodes.map((n) => n.status)).toEqual(['stopped', 'stopped']);
    const again = await provider.runInstances(req('c1', 2));
    expect(again.nodes.map((n) => n.instanceId)).toEqual(info.nodes.map((n) => n.instanceId));
    expect((await provider.transport('c1', again.nodes[0]!).exec('cat kept.txt')).stdout.trim()).toBe('kept');
  });

  it('a failed launch is cleaned up before the next place and reported as the cloud error kind', async () => {
    driver.failAfter = 1;
    const err = await provider.runInstances(req('c2', 2)).catch((e: unknown) => e);
    driver.failAfter = undefined;
    expect(err).toBeInstanceOf(ProvisionError);
    expect((err as ProvisionError).kind).toBe('capacity');
    expect((err as Error).message).toBe('NoCapacity: no capacity in r1a');
    expect(live().filter((e) => e.cluster === 'c2')).toEqual([]);
  });

  it('terminate leaves no instance and no record', async () => {
    await provider.terminateInstances('c1');
    expect(live()).toEqual([]);
    expect(await provider.queryInstances('c1')).toBeUndefined();
  });
});
