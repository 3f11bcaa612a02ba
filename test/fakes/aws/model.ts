// The fake AWS account's EC2 state: regions, zones and instance types from the shipped catalog (so
// every offering the optimizer picks exists, and a type is "Unsupported" exactly in the zones the
// catalog does not list it), default VPCs, images, key pairs, security groups whose ingress rules
// are the VMs' firewall, and instances with EC2's lifecycle (pending → running → stopping →
// stopped, shutting-down → terminated; terminated ones stay listed) and state reasons. Behind each
// instance is a fake VM (test/fakes/vms.ts) when a VmHost is given.
//
// Failures a test injects: `zoneFailures` (InsufficientInstanceCapacity, Unsupported, … per zone),
// `regionFailures` (InstanceLimitExceeded …), `vcpuLimits` (VcpuLimitExceeded past N vCPUs of
// live instances in a region), `reclaim(id)` (a spot interruption), and `reclaimAtBoot` (zones
// where the first spot instance of a launch is interrupted as soon as it runs: a partial launch).
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { offeringsFromCsv } from '../../../src/catalog/catalog.js';
import type { Vm, VmHost } from '../vms.js';
import { Ec2Error } from './wire.js';

export const ACCOUNT = '123456789012';
export const CANONICAL = '099720109477';
export const AMAZON = '898082745236';

export type InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';
export const STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export interface InstanceTypeInfo {
  vcpus: number;
  memoryGiB: number;
  gpu: boolean;
  /** zone → on-demand and spot $/hr */
  zones: Map<string, { price?: number; spotPrice?: number }>;
}

export interface Image {
  id: string;
  name: string;
  owner: string;
  ownerAlias?: string;
  architecture: 'x86_64' | 'arm64';
  creationDate: string;
  description: string;
}

export interface Rule {
  protocol: string;
  from: number;
  to: number;
  cidrs: string[];
  groups: string[];
}

export interface SecurityGroup {
  id: string;
  name: string;
  description: string;
  vpcId: string;
  region: string;
  rules: Rule[];
  tags: Map<string, string>;
}

export interface KeyPair {
  id: string;
  name: string;
  region: string;
  fingerprint: string;
  publicKey: string;
}

export interface Volume {
  id: string;
  sizeGb: number;
  type: string;
  iops?: number;
  throughput?: number;
  device: string;
}

export interface Instance {
  id: string;
  region: string;
  zone: string;
  type: string;
  imageId: string;
  keyName?: string;
  state: InstanceStateName;
  stateReason?: { code: string; message: string };
  transitionReason: string;
  tags: Map<string, string>;
  groups: string[];
  spot: boolean;
  spotRequestId?: string;
  shutdownBehavior: 'stop' | 'terminate';
  launchTime: number;
  launchIndex: number;
  reservationId: string;
  vpcId: string;
  privateIp?: string;
  publicIp?: string;
  volume: Volume;
  userData?: string;
  architecture: string;
  vm?: Vm;
  /** ms from RunInstances to running (the fake's own boot, for benchmarks) */
  bootedAfterMs?: number;
}

export interface Injection {
  code: string;
  message?: string;
  /** HTTP status (EC2 answers capacity errors with 500) */
  status?: number;
  /** how many RunInstances calls fail (default: all, until removed) */
  times?: number;
}

const STATUS: Record<string, number> = { InsufficientInstanceCapacity: 500, InsufficientCapacity: 500, Unavailable: 503, RequestLimitExceeded: 503 };

const rand = (n: number) => randomBytes(n).toString('hex');
const hashId = (prefix: string, s: string, len = 17) => `${prefix}-${createHash('sha1').update(s).digest('hex').slice(0, len)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Regions, zones and instance types of the shipped AWS catalog. */
export function loadAwsCatalog(root: string): { regions: Map<string, string[]>; types: Map<string, InstanceTypeInfo> } {
  const offerings = offeringsFromCsv('aws', readFileSync(join(root, 'catalog', 'aws', 'vms.csv'), 'utf8'));
  const regions = new Map<string, string[]>();
  const types = new Map<string, InstanceTypeInfo>();
  for (const o of offerings) {
    if (!o.zone || !o.instanceType) continue;
    const zs = regions.get(o.region) ?? [];
    if (!zs.includes(o.zone)) zs.push(o.zone);
    regions.set(o.region, zs);
    let t = types.get(o.instanceType);
    if (!t) types.set(o.instanceType, (t = { vcpus: o.cpus, memoryGiB: o.memoryGiB, gpu: !!o.accelerator, zones: new Map() }));
    t.zones.set(o.zone, { price: o.price, spotPrice: o.spotPrice });
  }
  for (const zs of regions.values()) zs.sort();
  return { regions, types };
}

/** The images every region has: Canonical's Ubuntu and AWS's Deep Learning AMI. */
function imagesFor(region: string): Image[] {
  const out: Image[] = [];
  const ubuntu = [
    ['jammy-22.04', '20250516'],
    ['noble-24.04', '20250610'],
  ];
  for (const [rel, date] of ubuntu) {
    for (const arch of ['amd64', 'arm64'] as const) {
      const name = `ubuntu/images/hvm-ssd-gp3/ubuntu-${rel}-${arch}-server-${date}`;
      out.push({
        id: hashId('ami', `${region}/${name}`),
        name,
        owner: CANONICAL,
        architecture: arch === 'amd64' ? 'x86_64' : 'arm64',
        creationDate: `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6)}T12:00:00.000Z`,
        description: `Canonical, Ubuntu, ${rel.replace('-', ' ')}, ${arch} server image`,
      });
    }
  }
  const dl = 'Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) 20250523';
  out.push({
    id: hashId('ami', `${region}/${dl}`),
    name: dl,
    owner: AMAZON,
    ownerAlias: 'amazon',
    architecture: 'x86_64',
    creationDate: '2025-05-23T10:00:00.000Z',
    description: 'Supported EC2 instances: G4dn, G5, G6, Gr6, G6e, P4d, P4de, P5, P5e, P5en. NVIDIA driver, Docker, NVIDIA container toolkit.',
  });
  return out;
}

export interface ModelOptions {
  vms?: VmHost;
  /** extra delay before an instance without a VM reports running */
  bootMs?: number;
}

export class Ec2Model {
  readonly regions: Map<string, string[]>;
  readonly types: Map<string, InstanceTypeInfo>;
  readonly instances = new Map<string, Instance>();
  readonly groups = new Map<string, SecurityGroup>();
  readonly keyPairs = new Map<string, KeyPair>();
  readonly images = new Map<string, Image[]>();
  readonly vpcs = new Map<string, string>();
  readonly zoneFailures = new Map<string, Injection>();
  readonly regionFailures = new Map<string, Injection>();
  readonly vcpuLimits = new Map<string, number>();
  /** zones whose spot capacity is being taken back: the first spot instance of each launch is reclaimed once it runs */
  readonly reclaimAtBoot = new Set<string>();
  /** every RunInstances call: region, zone and what came of it (tests and benchmarks read it) */
  readonly runLog: Array<{ at: number; region: string; zone: string; count: number; error?: string }> = [];
  private launchIndex = 0;

  constructor(
    root: string,
    readonly opts: ModelOptions = {},
  ) {
    const c = loadAwsCatalog(root);
    this.regions = c.regions;
    this.types = c.types;
    for (const r of this.regions.keys()) {
      this.images.set(r, imagesFor(r));
      const vpc = hashId('vpc', r, 17);
      this.vpcs.set(r, vpc);
      const sg: SecurityGroup = { id: hashId('sg', `${r}/default`), name: 'default', description: 'default VPC security group', vpcId: vpc, region: r, rules: [], tags: new Map() };
      this.groups.set(sg.id, sg);
    }
  }

  region(r: string): string[] {
    const zones = this.regions.get(r);
    if (!zones) throw new Ec2Error('AuthFailure', `AWS was not able to validate the provided access credentials (unknown region ${r})`, 401);
    return zones;
  }

  // ---- images, key pairs ----

  image(region: string, id: string): Image {
    const img = this.images.get(region)?.find((i) => i.id === id);
    if (!img) throw new Ec2Error('InvalidAMIID.NotFound', `The image id '[${id}]' does not exist`);
    return img;
  }

  importKeyPair(region: string, name: string, material: string): KeyPair {
    const k = `${region}/${name}`;
    if (this.keyPairs.has(k)) throw new Ec2Error('InvalidKeyPair.Duplicate', `The keypair already exists`);
    const text = Buffer.from(material, 'base64').toString('utf8').trim();
    const parts = text.split(/\s+/);
    if (parts.length < 2 || !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-)/.test(parts[0]!)) {
      throw new Ec2Error('InvalidKey.Format', 'Key is not in valid OpenSSH public key format');
    }
    const blob = Buffer.from(parts[1]!, 'base64');
    const fingerprint = createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
    const kp: KeyPair = { id: `key-${rand(8)}`, name, region, fingerprint, publicKey: `${parts[0]} ${parts[1]}` };
    this.keyPairs.set(k, kp);
    return kp;
  }

  keyPair(region: string, name: string): KeyPair {
    const kp = this.keyPairs.get(`${region}/${name}`);
    if (!kp) throw new Ec2Error('InvalidKeyPair.NotFound', `The key pair '${name}' does not exist`);
    return kp;
  }

  // ---- security groups ----

  group(region: string, id: string): SecurityGroup {
    const g = this.groups.get(id);
    if (!g || g.region !== region) throw new Ec2Error('InvalidGroup.NotFound', `The security group '${id}' does not exist`);
    return g;
  }

  createGroup(region: string, name: string, description: string, vpcId: string | undefined, tags: Map<string, string>): SecurityGroup {
    const vpc = vpcId ?? this.vpcs.get(region)!;
    if (vpc !== this.vpcs.get(region)) throw new Ec2Error('InvalidVpcID.NotFound', `The vpc ID '${vpc}' does not exist`);
    if (name.startsWith('sg-')) throw new Ec2Error('InvalidParameterValue', "Group names may not be in the format sg-*.");
    for (const g of this.groups.values()) {
      if (g.vpcId === vpc && g.name === name) throw new Ec2Error('InvalidGroup.Duplicate', `The security group '${name}' already exists for VPC '${vpc}'`);
    }
    const g: SecurityGroup = { id: `sg-${rand(9)}`, name, description, vpcId: vpc, region, rules: [], tags };
    this.groups.set(g.id, g);
    return g;
  }

  authorize(region: string, id: string, rules: Rule[]): void {
    const g = this.group(region, id);
    for (const r of rules) {
      const dup = g.rules.find((x) => x.protocol === r.protocol && x.from === r.from && x.to === r.to && (r.cidrs.some((c) => x.cidrs.includes(c)) || r.groups.some((c) => x.groups.includes(c))));
      if (dup) throw new Ec2Error('InvalidPermission.Duplicate', `the specified rule "peer: ${r.cidrs[0] ?? r.groups[0]}, ${r.protocol.toUpperCase()}, from port: ${r.from}, to port: ${r.to}, ALLOW" already exists`);
    }
    g.rules.push(...rules);
    this.applyIngress();
  }

  revoke(region: string, id: string, rules: Rule[]): void {
    const g = this.group(region, id);
    g.rules = g.rules.filter((x) => !rules.some((r) => x.protocol === r.protocol && x.from === r.from && x.to === r.to));
    this.applyIngress();
  }

  deleteGroup(region: string, id: string): void {
    const g = this.group(region, id);
    if (g.name === 'default') throw new Ec2Error('CannotDelete', `the specified group: "${id}" name: "default" cannot be deleted by a user`);
    const user = [...this.instances.values()].find((i) => i.state !== 'terminated' && i.groups.includes(id));
    if (user) throw new Ec2Error('DependencyViolation', `resource ${id} has a dependent object`);
    this.groups.delete(id);
  }

  /** Every VM's firewall: TCP ports open to the world through its groups. */
  private applyIngress(): void {
    for (const i of this.instances.values()) {
      if (!i.vm || i.state === 'terminated') continue;
      const ranges: Array<{ from: number; to: number }> = [];
      for (const gid of i.groups) {
        for (const r of this.groups.get(gid)?.rules ?? []) {
          if ((r.protocol === 'tcp' || r.protocol === '-1') && r.cidrs.length) ranges.push(r.protocol === '-1' ? { from: 1, to: 65535 } : { from: r.from, to: r.to });
        }
      }
      i.vm.setIngress(ranges);
    }
  }

  // ---- instances ----

  instance(region: string, id: string): Instance {
    const i = this.instances.get(id);
    if (!i || i.region !== region) throw new Ec2Error('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
    return i;
  }

  private liveVcpus(region: string): number {
    let n = 0;
    for (const i of this.instances.values()) {
      if (i.region === region && i.state !== 'terminated' && i.state !== 'stopped') n += this.types.get(i.type)?.vcpus ?? 0;
    }
    return n;
  }

  private consume(map: Map<string, Injection>, key: string): Injection | undefined {
    const inj = map.get(key);
    if (!inj) return undefined;
    if (inj.times !== undefined) {
      inj.times--;
      if (inj.times <= 0) map.delete(key);
    }
    return inj;
  }

  run(req: {
    region: string;
    zone?: string;
    type: string;
    imageId: string;
    count: number;
    keyName?: string;
    groups: string[];
    tags: Map<string, string>;
    spot?: { maxPrice?: number };
    shutdownBehavior: 'stop' | 'terminate';
    userData?: string;
    volume: Omit<Volume, 'id'>;
  }): Instance[] {
    const zones = this.region(req.region);
    const t = this.types.get(req.type);
    if (!t) throw new Ec2Error('InvalidParameterValue', `Invalid value '${req.type}' for InstanceType.`);
    const image = this.image(req.region, req.imageId);
    if ((image.architecture === 'arm64') !== /^[a-z]+\d+g[a-z]*\./.test(req.type)) {
      throw new Ec2Error('InvalidParameterValue', `The architecture '${image.architecture}' of the specified instance type does not match the architecture of the specified AMI.`);
    }
    let zone = req.zone;
    if (zone && !zones.includes(zone)) throw new Ec2Error('InvalidParameterValue', `Invalid availability zone: [${zone}]`);
    const offered = zones.filter((z) => t.zones.has(z));
    zone ??= offered.find((z) => !this.zoneFailures.has(z)) ?? offered[0];
    const fail = (e: Ec2Error): never => {
      this.runLog.push({ at: Date.now(), region: req.region, zone: zone ?? '', count: req.count, error: e.code });
      throw e;
    };
    if (!zone || !t.zones.has(zone)) {
      fail(new Ec2Error(
        'Unsupported',
        `Your requested instance type (${req.type}) is not supported in your requested Availability Zone (${zone ?? req.region}). Please retry your request by not specifying an Availability Zone or choosing ${offered.join(', ')}.`,
      ));
    }
    if (req.keyName) this.keyPair(req.region, req.keyName);
    for (const g of req.groups) this.group(req.region, g);
    const ri = this.consume(this.regionFailures, req.region);
    if (ri) fail(new Ec2Error(ri.code, ri.message ?? `Injected failure in ${req.region}`, ri.status ?? STATUS[ri.code] ?? 400));
    const zi = this.consume(this.zoneFailures, zone!);
    if (zi) {
      const msg =
        zi.message ??
        (zi.code === 'InsufficientInstanceCapacity'
          ? `We currently do not have sufficient ${req.type} capacity in the Availability Zone you requested (${zone}). Our system will be working on provisioning additional capacity. You can currently get ${req.type} capacity by not specifying an Availability Zone in your request or choosing ${offered.filter((z) => z !== zone).join(', ')}.`
          : `Injected failure in ${zone}`);
      fail(new Ec2Error(zi.code, msg, zi.status ?? STATUS[zi.code] ?? 400));
    }
    const limit = this.vcpuLimits.get(req.region);
    if (limit !== undefined && this.liveVcpus(req.region) + t.vcpus * req.count > limit) {
      fail(req.spot
        ? new Ec2Error('MaxSpotInstanceCountExceeded', 'Max spot instance count exceeded')
        : new Ec2Error(
            'VcpuLimitExceeded',
            `You have requested more vCPU capacity than your current vCPU limit of ${limit} allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.`,
          ));
    }
    if (req.spot) {
      const floor = t.zones.get(zone!)?.spotPrice;
      if (floor === undefined) fail(new Ec2Error('Unsupported', `The requested instance type (${req.type}) is not offered as Spot capacity in ${zone}.`));
      if (req.spot.maxPrice !== undefined && req.spot.maxPrice < floor!) {
        fail(new Ec2Error('SpotMaxPriceTooLow', `Your Spot request price of ${req.spot.maxPrice} is lower than the minimum required Spot request fulfillment price of ${floor}.`));
      }
    }
    this.runLog.push({ at: Date.now(), region: req.region, zone: zone!, count: req.count });
    const reservationId = `r-${rand(9)}`;
    const groups = req.groups.length ? req.groups : [hashId('sg', `${req.region}/default`)];
    const out: Instance[] = [];
    for (let n = 0; n < req.count; n++) {
      const i: Instance = {
        id: `i-${rand(9).slice(0, 17)}`,
        region: req.region,
        zone: zone!,
        type: req.type,
        imageId: req.imageId,
        keyName: req.keyName,
        state: 'pending',
        transitionReason: '',
        tags: new Map(req.tags),
        groups,
        spot: !!req.spot,
        spotRequestId: req.spot ? `sir-${rand(4)}` : undefined,
        shutdownBehavior: req.shutdownBehavior,
        launchTime: Date.now(),
        launchIndex: n,
        reservationId,
        vpcId: this.vpcs.get(req.region)!,
        volume: { ...req.volume, id: `vol-${rand(9).slice(0, 17)}` },
        userData: req.userData,
        architecture: image.architecture,
      };
      this.instances.set(i.id, i);
      out.push(i);
      void this.boot(i, true);
    }
    return out;
  }

  private async boot(i: Instance, first: boolean): Promise<void> {
    const started = Date.now();
    const host = this.opts.vms;
    // RunInstances answers while the instance is still pending, as EC2 does.
    await new Promise((r) => setImmediate(r));
    try {
      if (host) {
        if (!i.vm) {
          const key = i.keyName ? this.keyPairs.get(`${i.region}/${i.keyName}`)?.publicKey : undefined;
          i.vm = host.create({ authorizedKeys: key ? [key] : [], userData: i.userData, name: i.id });
          i.vm.on('guest-shutdown', () => void this.guestShutdown(i));
        } else if (!first) {
          await i.vm.start();
        }
        await i.vm.whenRunning();
        i.privateIp = i.vm.privateIp;
        i.publicIp = i.vm.publicIp;
      } else {
        if (this.opts.bootMs) await sleep(this.opts.bootMs);
        const n = parseInt(i.id.slice(2, 8), 16);
        i.privateIp ??= `172.31.${(n >> 8) & 255}.${n & 255}`;
        i.publicIp = `54.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
      }
      if (i.state !== 'pending') return;
      i.state = 'running';
      i.stateReason = undefined;
      i.bootedAfterMs = Date.now() - started;
      this.applyIngress();
      if (i.spot && i.launchIndex === 0 && this.reclaimAtBoot.has(i.zone)) void this.reclaim(i.id);
    } catch {
      /* stopped or terminated while booting */
    }
  }

  private async guestShutdown(i: Instance): Promise<void> {
    if (i.state !== 'running') return;
    const reason = { code: 'Client.InstanceInitiatedShutdown', message: 'Client.InstanceInitiatedShutdown: Instance initiated shutdown' };
    if (i.shutdownBehavior === 'terminate' || i.spot) await this.terminateOne(i, reason);
    else await this.stopOne(i, reason);
  }

  private userReason = () => ({ code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' });
  private transition = () => `User initiated (${new Date().toISOString().replace('T', ' ').slice(0, 19)} GMT)`;

  async stopOne(i: Instance, reason = this.userReason()): Promise<void> {
    if (i.state === 'stopped' || i.state === 'stopping') return;
    i.state = 'stopping';
    i.stateReason = reason;
    i.transitionReason = this.transition();
    await i.vm?.stop();
    if (i.state !== 'stopping') return;
    i.state = 'stopped';
    i.publicIp = undefined;
  }

  async terminateOne(i: Instance, reason = this.userReason()): Promise<void> {
    if (i.state === 'terminated' || i.state === 'shutting-down') return;
    i.state = 'shutting-down';
    i.stateReason = reason;
    i.transitionReason = this.transition();
    await i.vm?.terminate();
    i.state = 'terminated';
    i.publicIp = undefined;
    i.privateIp = undefined;
  }

  /** StateChange list item for Start/Stop/TerminateInstances. */
  stop(region: string, ids: string[]): Array<{ id: string; prev: InstanceStateName; cur: InstanceStateName }> {
    const all = ids.map((id) => this.instance(region, id));
    for (const i of all) {
      if (i.spot) {
        throw new Ec2Error(
          'UnsupportedOperation',
          `You can't stop the Spot Instance '${i.id}' because it is associated with a one-time Spot Instance request. You can only stop Spot Instances associated with persistent Spot Instance requests.`,
        );
      }
      if (i.state === 'terminated' || i.state === 'shutting-down') throw new Ec2Error('IncorrectInstanceState', `This instance '${i.id}' is not in a state from which it can be stopped.`);
    }
    return all.map((i) => {
      const prev = i.state;
      void this.stopOne(i);
      return { id: i.id, prev, cur: i.state };
    });
  }

  start(region: string, ids: string[]): Array<{ id: string; prev: InstanceStateName; cur: InstanceStateName }> {
    const all = ids.map((id) => this.instance(region, id));
    for (const i of all) {
      if (i.state !== 'stopped' && i.state !== 'running' && i.state !== 'pending') {
        throw new Ec2Error('IncorrectInstanceState', `The instance '${i.id}' is not in a state from which it can be started.`);
      }
    }
    const limit = this.vcpuLimits.get(region);
    const adding = all.filter((i) => i.state === 'stopped').reduce((n, i) => n + (this.types.get(i.type)?.vcpus ?? 0), 0);
    if (limit !== undefined && adding > 0 && this.liveVcpus(region) + adding > limit) {
      throw new Ec2Error('VcpuLimitExceeded', `You have requested more vCPU capacity than your current vCPU limit of ${limit} allows for the instance bucket that the specified instance type belongs to.`);
    }
    return all.map((i) => {
      const prev = i.state;
      if (i.state === 'stopped') {
        i.state = 'pending';
        i.stateReason = undefined;
        void this.boot(i, false);
      }
      return { id: i.id, prev, cur: i.state };
    });
  }

  terminate(region: string, ids: string[]): Array<{ id: string; prev: InstanceStateName; cur: InstanceStateName }> {
    const all = ids.map((id) => this.instance(region, id));
    return all.map((i) => {
      const prev = i.state;
      void this.terminateOne(i);
      return { id: i.id, prev, cur: i.state };
    });
  }

  /** A spot interruption: the VM is killed at once and the instance terminated with EC2's reason. */
  async reclaim(id: string): Promise<void> {
    const i = this.instances.get(id);
    if (!i) throw new Error(`no instance ${id}`);
    if (!i.spot) throw new Error(`${id} is not a spot instance`);
    i.state = 'shutting-down';
    i.stateReason = { code: 'Server.SpotInstanceTermination', message: 'Server.SpotInstanceTermination: Spot instance termination' };
    i.transitionReason = 'Service initiated';
    await i.vm?.reclaim();
    i.state = 'terminated';
    i.publicIp = undefined;
    i.privateIp = undefined;
  }

  /** Instances matching EC2's DescribeInstances filters. */
  filterInstances(region: string, ids: string[], filters: Map<string, string[]>): Instance[] {
    for (const id of ids) this.instance(region, id);
    const glob = (pattern: string, v: string) => new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$').test(v);
    const any = (vals: string[], v: string | undefined) => v !== undefined && vals.some((p) => glob(p, v));
    return [...this.instances.values()].filter((i) => {
      if (i.region !== region) return false;
      if (ids.length && !ids.includes(i.id)) return false;
      for (const [name, vals] of filters) {
        if (name === 'instance-state-name' && !any(vals, i.state)) return false;
        else if (name === 'instance-id' && !any(vals, i.id)) return false;
        else if (name === 'availability-zone' && !any(vals, i.zone)) return false;
        else if (name === 'instance-type' && !any(vals, i.type)) return false;
        else if (name === 'vpc-id' && !any(vals, i.vpcId)) return false;
        else if (name === 'instance-lifecycle' && !any(vals, i.spot ? 'spot' : undefined)) return false;
        else if (name === 'tag-key' && ![...i.tags.keys()].some((k) => any(vals, k))) return false;
        else if (name.startsWith('tag:') && !any(vals, i.tags.get(name.slice(4)))) return false;
        else if (!['instance-state-name', 'instance-id', 'availability-zone', 'instance-type', 'vpc-id', 'instance-lifecycle', 'tag-key'].includes(name) && !name.startsWith('tag:')) {
          throw new Ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`);
        }
      }
      return true;
    });
  }

  /** Terminates every VM (the fake's shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.instances.values()].map((i) => i.vm?.terminate().catch(() => undefined)));
  }
}
