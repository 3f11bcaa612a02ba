// AWS EC2 for the VM cloud base, through @aws-sdk/client-ec2 (imported on first use: the daemon
// loads it only when an AWS cluster is touched). Credentials come from the SDK's default chain
// (environment, ~/.aws/credentials profiles, AWS_PROFILE, SSO, web identity…); the endpoint from
// AWS_ENDPOINT_URL_EC2 or AWS_ENDPOINT_URL when set (private clouds, LocalStack-style setups).
//
// Per region, cached: the default VPC, the user's key pair (imported once, `aloft-key-<id>`),
// the default image (Canonical's Ubuntu 22.04, or AWS's Deep Learning base AMI for GPU types).
// Per cluster and region: a security group `aloft-<cluster>-<uid>` (ssh, the task's ports, and
// everything between the cluster's own nodes), removed at down.
import { homedir } from 'node:os';
import type { EC2Client, Filter, Instance, IpPermission, _InstanceType } from '@aws-sdk/client-ec2';
import { detectAws } from '../../catalog/detect.js';
import type { CloudDriver, CloudInstance, InstanceState, LaunchSpec } from '../cloud/driver.js';
import { clusterResourceName, nodeTags, portRanges, TAG_CLUSTER, TAG_RANK, TAG_UID } from '../cloud/driver.js';
import type { ProvisionErrorKind } from '../types.js';
import { awsErrorCode, classifyAwsError, describeAwsError } from './errors.js';

type Sdk = typeof import('@aws-sdk/client-ec2');

const CANONICAL = '099720109477';
const UBUNTU = 'ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-{arch}-server-*';
const DLAMI = 'Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04)*';

/** SkyPilot's AWS disk tiers: volume type, IOPS, and gp3 throughput (IOPS / 16 MiB/s). */
export function diskSpec(tier: string | undefined): { type: string; iops?: number; throughput?: number } {
  switch ((tier ?? 'medium').toLowerCase()) {
    case 'low':
      return { type: 'standard' };
    case 'high':
      return { type: 'gp3', iops: 7000, throughput: 437 };
    case 'ultra':
    case 'best':
      return { type: 'io2', iops: 20000 };
    default:
      return { type: 'gp3', iops: 3500, throughput: 218 };
  }
}

/** The instance's CPU architecture, from its family (m7g, c6gn, … are Graviton). */
export function archOf(instanceType: string): 'x86_64' | 'arm64' {
  return /^[a-z]+\d+g[a-z]*\./.test(instanceType) ? 'arm64' : 'x86_64';
}

const isGpuType = (t: string) => /^(p\d|g\d|gr\d)/.test(t);

function stateOf(name: string | undefined): InstanceState {
  switch (name) {
    case 'running':
      return 'running';
    case 'stopping':
      return 'stopping';
    case 'stopped':
      return 'stopped';
    case 'shutting-down':
      return 'shutting-down';
    case 'terminated':
      return 'terminated';
    default:
      return 'pending';
  }
}

function chunks<T>(list: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += n) out.push(list.slice(i, i + n));
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface AwsDriverOptions {
  env?: NodeJS.ProcessEnv;
}

export class AwsDriver implements CloudDriver {
  readonly cloud = 'aws';
  readonly defaultSshUser = 'ubuntu';
  readonly spotStoppable = false;
  readonly atomicCreate = true;
  private sdk?: Promise<Sdk>;
  private readonly clients = new Map<string, EC2Client>();
  private readonly cache = new Map<string, Promise<string>>();
  private readonly env: NodeJS.ProcessEnv;

  constructor(opts: AwsDriverOptions = {}) {
    this.env = opts.env ?? process.env;
  }

  private load(): Promise<Sdk> {
    this.sdk ??= import('@aws-sdk/client-ec2');
    return this.sdk;
  }

  endpoint(): string | undefined {
    return this.env.AWS_ENDPOINT_URL_EC2 || this.env.AWS_ENDPOINT_URL || undefined;
  }

  /**
   * One client per region; `launch` clients do not retry: a RunInstances refused for capacity is
   * answered with HTTP 500 and the SDK would retry it, when the failover loop should move on.
   */
  private async client(region: string, launch = false): Promise<EC2Client> {
    const key = `${region}${launch ? '/launch' : ''}`;
    let c = this.clients.get(key);
    if (!c) {
      const { EC2Client } = await this.load();
      c = new EC2Client({ region, endpoint: this.endpoint(), maxAttempts: launch ? 1 : 3 });
      this.clients.set(key, c);
    }
    return c;
  }

  /** Memoizes a lookup; a failure is not remembered. */
  private once(key: string, fn: () => Promise<string>): Promise<string> {
    let p = this.cache.get(key);
    if (!p) {
      p = fn();
      this.cache.set(key, p);
      p.catch(() => this.cache.delete(key));
    }
    return p;
  }

  async warm(): Promise<void> {
    await this.load();
  }

  credentials(): { ok: boolean; reason: string } {
    return detectAws(this.env, homedir());
  }

  async ping(timeoutMs: number): Promise<string> {
    const sdk = await this.load();
    const region = this.env.AWS_REGION || this.env.AWS_DEFAULT_REGION || 'us-east-1';
    const c = new sdk.EC2Client({ region, endpoint: this.endpoint(), maxAttempts: 1 });
    try {
      const r = await c.send(new sdk.DescribeRegionsCommand({}), { abortSignal: AbortSignal.timeout(timeoutMs) });
      return `EC2 API answered (${r.Regions?.length ?? 0} regions${this.endpoint() ? ` at ${this.endpoint()}` : ''})`;
    } finally {
      c.destroy();
    }
  }

  // ---- per-region setup ----

  private defaultVpc(region: string): Promise<string> {
    return this.once(`vpc/${region}`, async () => {
      const sdk = await this.load();
      const r = await (await this.client(region)).send(new sdk.DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }));
      const id = r.Vpcs?.[0]?.VpcId;
      if (!id) throw Object.assign(new Error(`no default VPC in ${region}`), { name: 'VPCIdNotSpecified' });
      return id;
    });
  }

  private keyPair(region: string, publicKey: string): Promise<string> {
    const blob = publicKey.split(/\s+/)[1] ?? publicKey;
    const name = `aloft-key-${Buffer.from(blob).toString('base64url').slice(-12).toLowerCase()}`;
    return this.once(`key/${region}/${name}`, async () => {
      const sdk = await this.load();
      const c = await this.client(region);
      try {
        await c.send(new sdk.DescribeKeyPairsCommand({ KeyNames: [name] }));
        return name;
      } catch (err) {
        if (awsErrorCode(err) !== 'InvalidKeyPair.NotFound') throw err;
      }
      try {
        await c.send(new sdk.ImportKeyPairCommand({ KeyName: name, PublicKeyMaterial: Buffer.from(publicKey) }));
      } catch (err) {
        // Another launch imported it meanwhile.
        if (awsErrorCode(err) !== 'InvalidKeyPair.Duplicate') throw err;
      }
      return name;
    });
  }

  private defaultImage(region: string, instanceType: string): Promise<string> {
    const arch = archOf(instanceType);
    const gpu = isGpuType(instanceType) && arch === 'x86_64';
    return this.once(`image/${region}/${arch}/${gpu}`, async () => {
      const sdk = await this.load();
      const c = await this.client(region);
      const query = gpu
        ? { Owners: ['amazon'], Filters: [{ Name: 'name', Values: [DLAMI] }] }
        : { Owners: [CANONICAL], Filters: [{ Name: 'name', Values: [UBUNTU.replace('{arch}', arch === 'arm64' ? 'arm64' : 'amd64')] }] };
      const r = await c.send(new sdk.DescribeImagesCommand({ ...query, Filters: [...query.Filters, { Name: 'state', Values: ['available'] }, { Name: 'architecture', Values: [arch] }] }));
      const newest = (r.Images ?? []).sort((a, b) => String(b.CreationDate).localeCompare(String(a.CreationDate)))[0];
      if (!newest?.ImageId) throw Object.assign(new Error(`no default ${gpu ? 'Deep Learning' : 'Ubuntu 22.04'} ${arch} image in ${region}; set image_id`), { name: 'InvalidAMIID.NotFound' });
      return newest.ImageId;
    });
  }

  /** The cluster's security group in `region`, created on first use, with every port rule in place. */
  private async securityGroup(region: string, cluster: string, uid: string, ports: string[]): Promise<string> {
    const sdk = await this.load();
    const c = await this.client(region);
    const name = clusterResourceName(cluster, uid);
    const vpc = await this.defaultVpc(region);
    const id = await this.once(`sg/${region}/${name}`, async () => {
      const found = await c.send(new sdk.DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [name] }, { Name: 'vpc-id', Values: [vpc] }] }));
      const existing = found.SecurityGroups?.[0]?.GroupId;
      if (existing) return existing;
      try {
        const r = await c.send(
          new sdk.CreateSecurityGroupCommand({
            GroupName: name,
            Description: `aloft cluster ${cluster}`,
            VpcId: vpc,
            TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: TAG_CLUSTER, Value: cluster }, { Key: TAG_UID, Value: uid }] }],
          }),
        );
        return r.GroupId!;
      } catch (err) {
        if (awsErrorCode(err) !== 'InvalidGroup.Duplicate') throw err;
        const again = await c.send(new sdk.DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [name] }, { Name: 'vpc-id', Values: [vpc] }] }));
        return again.SecurityGroups![0]!.GroupId!;
      }
    });
    // The rules for these ports are checked once per group (a failover's next zone reuses it).
    await this.once(`rules/${id}/${[...ports].sort().join(',')}`, async () => {
      await this.ensureRules(region, id, ports);
      return id;
    });
    return id;
  }

  private async ensureRules(region: string, id: string, ports: string[]): Promise<void> {
    const sdk = await this.load();
    const c = await this.client(region);
    const cur = await c.send(new sdk.DescribeSecurityGroupsCommand({ GroupIds: [id] }));
    const have = cur.SecurityGroups?.[0]?.IpPermissions ?? [];
    const want: IpPermission[] = [
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      ...portRanges(ports).map((r) => ({ IpProtocol: 'tcp', FromPort: r.from, ToPort: r.to, IpRanges: [{ CidrIp: '0.0.0.0/0' }] })),
      // Nodes of the cluster talk freely (the head drives its workers; jobs' own traffic).
      { IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: id }] },
    ];
    const missing = want.filter(
      (w) =>
        !have.some(
          (h) =>
            h.IpProtocol === w.IpProtocol &&
            (w.IpProtocol === '-1' || (h.FromPort === w.FromPort && h.ToPort === w.ToPort)) &&
            (w.UserIdGroupPairs ? h.UserIdGroupPairs?.some((g) => g.GroupId === id) : h.IpRanges?.some((r) => r.CidrIp === '0.0.0.0/0')),
        ),
    );
    if (missing.length) {
      try {
        await c.send(new sdk.AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: missing }));
      } catch (err) {
        if (awsErrorCode(err) !== 'InvalidPermission.Duplicate') throw err;
      }
    }
  }

  // ---- instances ----

  async create(spec: LaunchSpec): Promise<CloudInstance[]> {
    const sdk = await this.load();
    const [image, keyName, group] = await Promise.all([
      spec.imageId ? Promise.resolve(spec.imageId) : this.defaultImage(spec.region, spec.instanceType),
      this.keyPair(spec.region, spec.publicKey),
      this.securityGroup(spec.region, spec.cluster, spec.uid, spec.ports),
    ]);
    const disk = diskSpec(spec.diskTier);
    const common = [
      { Key: TAG_CLUSTER, Value: spec.cluster },
      { Key: TAG_UID, Value: spec.uid },
      ...Object.entries(spec.labels).map(([Key, Value]) => ({ Key, Value })),
    ];
    const n = spec.ranks.length;
    // One instance carries its rank from the start; several get theirs by launch index below.
    const single = n === 1 ? [{ Key: TAG_RANK, Value: String(spec.ranks[0]) }, { Key: 'Name', Value: spec.ranks[0] === 0 ? `${spec.cluster}-head` : `${spec.cluster}-worker${spec.ranks[0]}` }] : [];
    const c = await this.client(spec.region, true);
    // All ranks in one call: EC2 launches MinCount..MaxCount at once or none.
    const r = await c.send(
      new sdk.RunInstancesCommand({
        ImageId: image,
        InstanceType: spec.instanceType as _InstanceType,
        MinCount: n,
        MaxCount: n,
        KeyName: keyName,
        SecurityGroupIds: [group],
        Placement: spec.zone ? { AvailabilityZone: spec.zone } : undefined,
        UserData: Buffer.from(spec.userData).toString('base64'),
        InstanceInitiatedShutdownBehavior: spec.shutdownBehavior,
        BlockDeviceMappings: [
          {
            DeviceName: '/dev/sda1',
            Ebs: { VolumeSize: spec.diskSizeGb, VolumeType: disk.type as 'gp3', Iops: disk.iops, Throughput: disk.throughput, DeleteOnTermination: true },
          },
        ],
        InstanceMarketOptions: spec.useSpot
          ? { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' } }
          : undefined,
        TagSpecifications: [
          { ResourceType: 'instance', Tags: [...common, ...single] },
          { ResourceType: 'volume', Tags: common },
        ],
      }),
    );
    const instances = (r.Instances ?? []).sort((a, b) => (a.AmiLaunchIndex ?? 0) - (b.AmiLaunchIndex ?? 0));
    // Each instance's rank (and a Name the console shows) by its launch index.
    const cTag = await this.client(spec.region);
    if (!single.length) await this.tagRanks(cTag, spec, instances);
    return instances.map((inst, k) => ({ ...this.toCloud(inst, spec.region), rank: spec.ranks[k]! }));
  }

  private async tagRanks(cTag: EC2Client, spec: LaunchSpec, instances: Instance[]): Promise<void> {
    const sdk = await this.load();
    try {
      await Promise.all(
        instances.map((inst, k) => {
          const rank = spec.ranks[k]!;
          const tags = nodeTags(spec.cluster, spec.uid, rank);
          return cTag.send(
            new sdk.CreateTagsCommand({
              Resources: [inst.InstanceId!],
              Tags: [
                { Key: TAG_RANK, Value: tags[TAG_RANK] },
                { Key: 'Name', Value: rank === 0 ? `${spec.cluster}-head` : `${spec.cluster}-worker${rank}` },
              ],
            }),
          );
        }),
      );
    } catch (err) {
      // create() is all-or-nothing (atomicCreate): instances whose ranks could not be written go.
      await this.terminate(spec.region, instances.map((i) => i.InstanceId!)).catch(() => undefined);
      throw err;
    }
  }

  private toCloud(i: Instance, region: string): CloudInstance {
    const tag = (k: string) => i.Tags?.find((t) => t.Key === k)?.Value;
    const rank = Number(tag(TAG_RANK));
    return {
      id: i.InstanceId!,
      cluster: tag(TAG_CLUSTER) ?? '',
      uid: tag(TAG_UID) ?? '',
      rank: Number.isInteger(rank) ? rank : -1,
      region,
      zone: i.Placement?.AvailabilityZone,
      state: stateOf(i.State?.Name),
      privateIp: i.PrivateIpAddress,
      publicIp: i.PublicIpAddress,
      reason: i.StateReason?.Message || i.StateReason?.Code || undefined,
    };
  }

  async list(region: string, uids?: string[]): Promise<CloudInstance[]> {
    const sdk = await this.load();
    const c = await this.client(region);
    // EC2 takes up to 200 values per filter: one call per 200 clusters (and per page of 1,000).
    const filters: Filter[][] = uids ? chunks(uids, 200).map((v) => [{ Name: `tag:${TAG_UID}`, Values: v }]) : [[{ Name: 'tag-key', Values: [TAG_UID] }]];
    const out: CloudInstance[] = [];
    for (const Filters of filters) {
      for await (const page of sdk.paginateDescribeInstances({ client: c, pageSize: 1000 }, { Filters })) {
        for (const res of page.Reservations ?? []) for (const i of res.Instances ?? []) out.push(this.toCloud(i, region));
      }
    }
    return out;
  }

  async start(region: string, ids: string[]): Promise<void> {
    const sdk = await this.load();
    const c = await this.client(region);
    for (const part of chunks(ids, 1000)) await c.send(new sdk.StartInstancesCommand({ InstanceIds: part }));
  }

  async stop(region: string, ids: string[]): Promise<void> {
    const sdk = await this.load();
    const c = await this.client(region);
    for (const part of chunks(ids, 1000)) await c.send(new sdk.StopInstancesCommand({ InstanceIds: part }));
  }

  async terminate(region: string, ids: string[]): Promise<void> {
    const sdk = await this.load();
    const c = await this.client(region);
    for (const part of chunks(ids, 1000)) await c.send(new sdk.TerminateInstancesCommand({ InstanceIds: part }));
  }

  async openPorts(region: string, cluster: string, uid: string, ports: string[]): Promise<void> {
    await this.securityGroup(region, cluster, uid, ports);
  }

  async cleanup(region: string, cluster: string, uid: string): Promise<void> {
    const sdk = await this.load();
    const c = await this.client(region);
    const name = clusterResourceName(cluster, uid);
    const vpc = await this.defaultVpc(region);
    const gone = await this.cache.get(`sg/${region}/${name}`)?.catch(() => undefined);
    this.cache.delete(`sg/${region}/${name}`);
    for (const k of [...this.cache.keys()]) if (gone && k.startsWith(`rules/${gone}/`)) this.cache.delete(k);
    const found = await c.send(new sdk.DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [name] }, { Name: 'vpc-id', Values: [vpc] }] }));
    for (const g of found.SecurityGroups ?? []) {
      // EC2 releases a terminated instance's network interface a little after it is terminated.
      for (let attempt = 0; ; attempt++) {
        try {
          await c.send(new sdk.DeleteSecurityGroupCommand({ GroupId: g.GroupId }));
          break;
        } catch (err) {
          const code = awsErrorCode(err);
          if (code === 'InvalidGroup.NotFound') break;
          if (code !== 'DependencyViolation' || attempt >= 30) throw err;
          await sleep(Math.min(500 * 2 ** attempt, 5000));
        }
      }
    }
  }

  async setShutdownBehavior(region: string, ids: string[], behavior: 'stop' | 'terminate'): Promise<void> {
    const sdk = await this.load();
    const c = await this.client(region);
    await Promise.all(ids.map((id) => c.send(new sdk.ModifyInstanceAttributeCommand({ InstanceId: id, InstanceInitiatedShutdownBehavior: { Value: behavior } }))));
  }

  classify(err: unknown): ProvisionErrorKind | undefined {
    return classifyAwsError(err);
  }

  describeError(err: unknown): string {
    return describeAwsError(err);
  }

  close(): void {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
  }
}
