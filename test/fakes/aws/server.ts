// The EC2 endpoint: one HTTP server for every region (the region comes from the request's
// signature, as with AWS_ENDPOINT_URL_EC2), the Query actions aloft and the aws CLI use, and a
// small control API under /_fake/ for injecting failures by hand (`npm run fake -- aws`).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ACCOUNT, CANONICAL, STATE_CODES, type Ec2Model, type Image, type Instance, type Rule, type SecurityGroup } from './model.js';
import { Ec2Error, errorBody, Params, response, verifySigV4, type XmlObject, type Xml } from './wire.js';

export interface Ec2Server {
  endpoint: string;
  port: number;
  /** calls by action (tests check batching: one DescribeInstances per region) */
  calls: Map<string, number>;
  /** every call: when, what, where and the error code if any */
  log: Array<{ at: number; action: string; region: string; error?: string }>;
  close(): Promise<void>;
}

const iso = (ms: number) => new Date(ms).toISOString();
const tagSet = (tags: Map<string, string>): Xml[] => [...tags].map(([key, value]) => ({ key, value }));

function tagsFrom(p: Params, resourceType: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const spec of p.structs('TagSpecification')) {
    if (spec.get('ResourceType') !== resourceType) continue;
    for (const t of spec.structs('Tag')) {
      const k = t.get('Key');
      if (k) out.set(k, t.get('Value') ?? '');
    }
  }
  return out;
}

function instanceXml(m: Ec2Model, i: Instance): XmlObject {
  const t = m.types.get(i.type);
  return {
    instanceId: i.id,
    imageId: i.imageId,
    instanceState: { code: STATE_CODES[i.state], name: i.state },
    privateDnsName: i.privateIp ? `ip-${i.privateIp.replace(/\./g, '-')}.${i.region}.compute.internal` : '',
    dnsName: i.publicIp ? `ec2-${i.publicIp.replace(/\./g, '-')}.${i.region}.compute.amazonaws.com` : '',
    reason: i.transitionReason,
    keyName: i.keyName,
    amiLaunchIndex: i.launchIndex,
    productCodes: [],
    instanceType: i.type,
    launchTime: iso(i.launchTime),
    placement: { availabilityZone: i.zone, groupName: '', tenancy: 'default' },
    monitoring: { state: 'disabled' },
    subnetId: `subnet-${i.zone.replace(/[^a-z0-9]/g, '')}`,
    vpcId: i.vpcId,
    privateIpAddress: i.privateIp,
    ipAddress: i.publicIp,
    sourceDestCheck: true,
    groupSet: i.groups.map((g) => ({ groupId: g, groupName: m.groups.get(g)?.name ?? '' })),
    stateReason: i.stateReason,
    architecture: i.architecture,
    rootDeviceType: 'ebs',
    rootDeviceName: i.volume.device,
    blockDeviceMapping: [
      {
        deviceName: i.volume.device,
        ebs: { volumeId: i.volume.id, status: 'attached', attachTime: iso(i.launchTime), deleteOnTermination: true },
      },
    ],
    instanceLifecycle: i.spot ? 'spot' : undefined,
    spotInstanceRequestId: i.spotRequestId,
    virtualizationType: 'hvm',
    tagSet: tagSet(i.tags),
    hypervisor: 'xen',
    ebsOptimized: false,
    enaSupport: true,
    cpuOptions: t ? { coreCount: Math.max(1, Math.floor(t.vcpus / 2)), threadsPerCore: t.vcpus > 1 ? 2 : 1 } : undefined,
  };
}

function groupXml(g: SecurityGroup): XmlObject {
  return {
    ownerId: ACCOUNT,
    groupId: g.id,
    groupName: g.name,
    groupDescription: g.description,
    vpcId: g.vpcId,
    ipPermissions: g.rules.map((r) => ({
      ipProtocol: r.protocol,
      fromPort: r.protocol === '-1' ? undefined : r.from,
      toPort: r.protocol === '-1' ? undefined : r.to,
      groups: r.groups.map((id) => ({ userId: ACCOUNT, groupId: id })),
      ipRanges: r.cidrs.map((cidrIp) => ({ cidrIp })),
      ipv6Ranges: [],
      prefixListIds: [],
    })),
    ipPermissionsEgress: [{ ipProtocol: '-1', groups: [], ipRanges: [{ cidrIp: '0.0.0.0/0' }], ipv6Ranges: [], prefixListIds: [] }],
    tagSet: tagSet(g.tags),
  };
}

function imageXml(img: Image): XmlObject {
  return {
    imageId: img.id,
    imageLocation: `${img.ownerAlias ?? img.owner}/${img.name}`,
    imageState: 'available',
    imageOwnerId: img.owner,
    creationDate: img.creationDate,
    isPublic: true,
    architecture: img.architecture,
    imageType: 'machine',
    imageOwnerAlias: img.ownerAlias,
    name: img.name,
    description: img.description,
    rootDeviceType: 'ebs',
    rootDeviceName: '/dev/sda1',
    blockDeviceMapping: [{ deviceName: '/dev/sda1', ebs: { volumeSize: 8, volumeType: 'gp3', deleteOnTermination: true } }],
    virtualizationType: 'hvm',
    hypervisor: 'xen',
    enaSupport: true,
  };
}

function rulesFrom(p: Params): Rule[] {
  const out: Rule[] = [];
  for (const r of p.structs('IpPermissions')) {
    const protocol = (r.get('IpProtocol') ?? '').toLowerCase();
    if (!['tcp', 'udp', 'icmp', '-1'].includes(protocol)) throw new Ec2Error('InvalidParameterValue', `Invalid value '${protocol}' for IP protocol.`);
    out.push({
      protocol,
      from: r.int('FromPort') ?? -1,
      to: r.int('ToPort') ?? -1,
      cidrs: r.structs('IpRanges').map((x) => x.need('CidrIp')),
      groups: r.structs('Groups').map((x) => x.need('GroupId')),
    });
  }
  return out;
}

const glob = (pattern: string, v: string) => new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$').test(v);

type Handler = (m: Ec2Model, region: string, p: Params) => Promise<XmlObject> | XmlObject;

const ACTIONS: Record<string, Handler> = {
  DescribeRegions(m, _region, p) {
    const names = p.list('RegionName');
    return {
      regionInfo: [...m.regions.keys()]
        .filter((r) => !names.length || names.includes(r))
        .map((r) => ({ regionName: r, regionEndpoint: `ec2.${r}.amazonaws.com`, optInStatus: 'opt-in-not-required' })),
    };
  },
  DescribeAvailabilityZones(m, region, p) {
    const names = p.list('ZoneName');
    return {
      availabilityZoneInfo: m
        .region(region)
        .filter((z) => !names.length || names.includes(z))
        .map((z) => ({ zoneName: z, zoneState: 'available', regionName: region, zoneId: `${region.replace(/-/g, '').slice(0, 4)}-az${z.slice(-1).charCodeAt(0) - 96}`, zoneType: 'availability-zone', optInStatus: 'opt-in-not-required' })),
    };
  },
  DescribeVpcs(m, region, p) {
    const f = p.filters();
    const vpc = m.vpcs.get(region)!;
    const want = f.get('is-default') ?? f.get('isDefault');
    const ids = p.list('VpcId');
    const show = (!want || want.includes('true')) && (!ids.length || ids.includes(vpc));
    return { vpcSet: show ? [{ vpcId: vpc, state: 'available', cidrBlock: '172.31.0.0/16', isDefault: true, ownerId: ACCOUNT, instanceTenancy: 'default' }] : [] };
  },
  DescribeImages(m, region, p) {
    const ids = p.list('ImageId');
    const owners = p.list('Owner');
    const f = p.filters();
    const images = (m.images.get(region) ?? []).filter((img) => {
      if (ids.length && !ids.includes(img.id)) return false;
      if (owners.length && !owners.some((o) => o === img.owner || o === img.ownerAlias)) return false;
      for (const [name, vals] of f) {
        const v = name === 'name' ? img.name : name === 'architecture' ? img.architecture : name === 'state' ? 'available' : name === 'owner-id' ? img.owner : name === 'image-id' ? img.id : name === 'root-device-type' ? 'ebs' : name === 'virtualization-type' ? 'hvm' : undefined;
        if (v === undefined) throw new Ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`);
        if (!vals.some((x) => glob(x, v))) return false;
      }
      return true;
    });
    if (ids.length && images.length < ids.length) {
      const missing = ids.filter((id) => !images.some((i) => i.id === id));
      throw new Ec2Error('InvalidAMIID.NotFound', `The image id '[${missing.join(', ')}]' does not exist`);
    }
    return { imagesSet: images.map(imageXml) };
  },
  ImportKeyPair(m, region, p) {
    const kp = m.importKeyPair(region, p.need('KeyName'), p.need('PublicKeyMaterial'));
    return { keyFingerprint: kp.fingerprint, keyName: kp.name, keyPairId: kp.id };
  },
  DescribeKeyPairs(m, region, p) {
    const names = [...p.list('KeyName'), ...(p.filters().get('key-name') ?? [])];
    const all = [...m.keyPairs.values()].filter((k) => k.region === region);
    for (const n of p.list('KeyName')) m.keyPair(region, n);
    return {
      keySet: all
        .filter((k) => !names.length || names.includes(k.name))
        .map((k) => ({ keyPairId: k.id, keyName: k.name, keyFingerprint: k.fingerprint, keyType: k.publicKey.startsWith('ssh-ed25519') ? 'ed25519' : 'rsa' })),
    };
  },
  DeleteKeyPair(m, region, p) {
    const name = p.get('KeyName');
    if (name) m.keyPairs.delete(`${region}/${name}`);
    return { return: true };
  },
  CreateSecurityGroup(m, region, p) {
    const g = m.createGroup(region, p.need('GroupName'), p.need('GroupDescription'), p.get('VpcId'), tagsFrom(p, 'security-group'));
    return { return: true, groupId: g.id, tagSet: tagSet(g.tags) };
  },
  DescribeSecurityGroups(m, region, p) {
    const ids = p.list('GroupId');
    const names = p.list('GroupName');
    for (const id of ids) m.group(region, id);
    const f = p.filters();
    const groups = [...m.groups.values()].filter((g) => {
      if (g.region !== region) return false;
      if (ids.length && !ids.includes(g.id)) return false;
      if (names.length && !names.includes(g.name)) return false;
      for (const [name, vals] of f) {
        const v = name === 'group-name' ? g.name : name === 'group-id' ? g.id : name === 'vpc-id' ? g.vpcId : name.startsWith('tag:') ? g.tags.get(name.slice(4)) : undefined;
        if (name !== 'group-name' && name !== 'group-id' && name !== 'vpc-id' && !name.startsWith('tag:')) throw new Ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`);
        if (v === undefined || !vals.some((x) => glob(x, v))) return false;
      }
      return true;
    });
    if (names.length && !groups.length) throw new Ec2Error('InvalidGroup.NotFound', `The security group '${names[0]}' does not exist in default VPC '${m.vpcs.get(region)}'`);
    return { securityGroupInfo: groups.map(groupXml) };
  },
  AuthorizeSecurityGroupIngress(m, region, p) {
    const rules = rulesFrom(p);
    m.authorize(region, p.need('GroupId'), rules);
    return { return: true };
  },
  RevokeSecurityGroupIngress(m, region, p) {
    m.revoke(region, p.need('GroupId'), rulesFrom(p));
    return { return: true };
  },
  DeleteSecurityGroup(m, region, p) {
    let id = p.get('GroupId');
    if (!id) {
      const name = p.need('GroupName');
      id = [...m.groups.values()].find((g) => g.region === region && g.name === name)?.id;
      if (!id) throw new Ec2Error('InvalidGroup.NotFound', `The security group '${name}' does not exist`);
    }
    m.deleteGroup(region, id);
    return { return: true };
  },
  RunInstances(m, region, p) {
    const min = p.int('MinCount') ?? 1;
    const max = p.int('MaxCount') ?? min;
    if (min < 1 || max < min) throw new Ec2Error('InvalidParameterValue', 'MinCount and MaxCount must be positive, MinCount <= MaxCount');
    const market = p.sub('InstanceMarketOptions');
    const spot = market.get('MarketType') === 'spot';
    const spotOpts = market.sub('SpotOptions');
    if (spot && (spotOpts.get('SpotInstanceType') ?? 'one-time') !== 'one-time') {
      throw new Ec2Error('InvalidParameterCombination', 'Only one-time spot requests are supported by this fake');
    }
    const bdm = p.structs('BlockDeviceMapping')[0];
    const ebs = bdm?.sub('Ebs');
    const names = p.list('SecurityGroup');
    const groups = [...p.list('SecurityGroupId')];
    for (const n of names) {
      const g = [...m.groups.values()].find((x) => x.region === region && x.name === n);
      if (!g) throw new Ec2Error('InvalidGroup.NotFound', `The security group '${n}' does not exist in VPC '${m.vpcs.get(region)}'`);
      groups.push(g.id);
    }
    const behavior = p.get('InstanceInitiatedShutdownBehavior') ?? 'stop';
    if (behavior !== 'stop' && behavior !== 'terminate') throw new Ec2Error('InvalidParameterValue', `Value (${behavior}) for parameter instanceInitiatedShutdownBehavior is invalid.`);
    const userData = p.get('UserData');
    const instances = m.run({
      region,
      zone: p.get('Placement.AvailabilityZone'),
      type: p.need('InstanceType'),
      imageId: p.need('ImageId'),
      count: max,
      keyName: p.get('KeyName'),
      groups,
      tags: tagsFrom(p, 'instance'),
      spot: spot ? { maxPrice: spotOpts.get('MaxPrice') !== undefined ? Number(spotOpts.get('MaxPrice')) : undefined } : undefined,
      shutdownBehavior: behavior,
      userData: userData ? Buffer.from(userData, 'base64').toString('utf8') : undefined,
      volume: {
        device: bdm?.get('DeviceName') ?? '/dev/sda1',
        sizeGb: ebs?.int('VolumeSize') ?? 8,
        type: ebs?.get('VolumeType') ?? 'gp3',
        iops: ebs?.int('Iops'),
        throughput: ebs?.int('Throughput'),
      },
    });
    const first = instances[0]!;
    return {
      reservationId: first.reservationId,
      ownerId: ACCOUNT,
      groupSet: first.groups.map((g) => ({ groupId: g, groupName: m.groups.get(g)?.name ?? '' })),
      instancesSet: instances.map((i) => instanceXml(m, i)),
    };
  },
  DescribeInstances(m, region, p) {
    const found = m.filterInstances(region, p.list('InstanceId'), p.filters());
    const pageSize = Math.min(Math.max(p.int('MaxResults') ?? 1000, 5), 1000);
    const start = Number(p.get('NextToken') ?? 0) || 0;
    const page = found.slice(start, start + pageSize);
    const byReservation = new Map<string, Instance[]>();
    for (const i of page) byReservation.set(i.reservationId, [...(byReservation.get(i.reservationId) ?? []), i]);
    return {
      reservationSet: [...byReservation].map(([id, list]) => ({
        reservationId: id,
        ownerId: ACCOUNT,
        groupSet: [],
        instancesSet: list.map((i) => instanceXml(m, i)),
      })),
      nextToken: start + pageSize < found.length ? String(start + pageSize) : undefined,
    };
  },
  DescribeVolumes(m, region, p) {
    const f = p.filters();
    const want = f.get('attachment.instance-id');
    const vols = [...m.instances.values()].filter((i) => i.region === region && i.state !== 'terminated' && (!want || want.includes(i.id)));
    return {
      volumeSet: vols.map((i) => ({
        volumeId: i.volume.id,
        size: i.volume.sizeGb,
        availabilityZone: i.zone,
        status: 'in-use',
        createTime: iso(i.launchTime),
        volumeType: i.volume.type,
        iops: i.volume.iops,
        throughput: i.volume.throughput,
        encrypted: false,
        attachmentSet: [{ volumeId: i.volume.id, instanceId: i.id, device: i.volume.device, status: 'attached', attachTime: iso(i.launchTime), deleteOnTermination: true }],
      })),
    };
  },
  StartInstances(m, region, p) {
    return { instancesSet: stateChanges(m.start(region, p.list('InstanceId'))) };
  },
  StopInstances(m, region, p) {
    return { instancesSet: stateChanges(m.stop(region, p.list('InstanceId'))) };
  },
  TerminateInstances(m, region, p) {
    return { instancesSet: stateChanges(m.terminate(region, p.list('InstanceId'))) };
  },
  CreateTags(m, region, p) {
    const ids = p.list('ResourceId');
    const tags = p.structs('Tag').map((t) => [t.need('Key'), t.get('Value') ?? ''] as const);
    for (const id of ids) {
      const target = id.startsWith('sg-') ? m.group(region, id) : m.instance(region, id);
      for (const [k, v] of tags) target.tags.set(k, v);
    }
    return { return: true };
  },
  ModifyInstanceAttribute(m, region, p) {
    const i = m.instance(region, p.need('InstanceId'));
    const v = p.get('InstanceInitiatedShutdownBehavior.Value') ?? (p.get('Attribute') === 'instanceInitiatedShutdownBehavior' ? p.get('Value') : undefined);
    if (v === undefined) throw new Ec2Error('InvalidParameterCombination', 'this fake only modifies InstanceInitiatedShutdownBehavior');
    if (v !== 'stop' && v !== 'terminate') throw new Ec2Error('InvalidParameterValue', `Value (${v}) for parameter instanceInitiatedShutdownBehavior is invalid.`);
    i.shutdownBehavior = v;
    return { return: true };
  },
  DescribeInstanceAttribute(m, region, p) {
    const i = m.instance(region, p.need('InstanceId'));
    const a = p.need('Attribute');
    if (a !== 'instanceInitiatedShutdownBehavior') throw new Ec2Error('InvalidParameterValue', `this fake describes only instanceInitiatedShutdownBehavior, not ${a}`);
    return { instanceId: i.id, instanceInitiatedShutdownBehavior: { value: i.shutdownBehavior } };
  },
};

function stateChanges(list: Array<{ id: string; prev: keyof typeof STATE_CODES; cur: keyof typeof STATE_CODES }>): Xml[] {
  return list.map((c) => ({
    instanceId: c.id,
    currentState: { code: STATE_CODES[c.cur], name: c.cur },
    previousState: { code: STATE_CODES[c.prev], name: c.prev },
  }));
}

/** The control API (for trying failures by hand): POST JSON to /_fake/<what>. */
async function control(m: Ec2Model, what: string, body: Record<string, unknown>, calls: Map<string, number>): Promise<unknown> {
  switch (what) {
    case 'calls':
      return { count: [...calls.values()].reduce((a, b) => a + b, 0), byAction: Object.fromEntries(calls) };
    case 'zone-failure':
      if (body.code) m.zoneFailures.set(String(body.zone), { code: String(body.code), times: body.times as number | undefined });
      else m.zoneFailures.delete(String(body.zone));
      return { ok: true };
    case 'region-failure':
      if (body.code) m.regionFailures.set(String(body.region), { code: String(body.code), times: body.times as number | undefined });
      else m.regionFailures.delete(String(body.region));
      return { ok: true };
    case 'vcpu-limit':
      if (body.limit === null || body.limit === undefined) m.vcpuLimits.delete(String(body.region));
      else m.vcpuLimits.set(String(body.region), Number(body.limit));
      return { ok: true };
    case 'reclaim':
      await m.reclaim(String(body.instanceId));
      return { ok: true };
    case 'instances':
      return [...m.instances.values()].map((i) => ({
        id: i.id,
        region: i.region,
        zone: i.zone,
        state: i.state,
        type: i.type,
        spot: i.spot,
        tags: Object.fromEntries(i.tags),
        privateIp: i.privateIp,
        publicIp: i.publicIp,
        launchTime: i.launchTime,
        bootedAfterMs: i.bootedAfterMs,
      }));
    default:
      throw new Error(`unknown control '${what}' (zone-failure, region-failure, vcpu-limit, reclaim, instances, calls)`);
  }
}

export async function serveEc2(m: Ec2Model, credentials: Map<string, string>, opts: { port?: number } = {}): Promise<Ec2Server> {
  const calls = new Map<string, number>();
  const log: Ec2Server['log'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const url = new URL(req.url ?? '/', 'http://x');
        if (url.pathname.startsWith('/_fake/')) {
          try {
            const out = await control(m, url.pathname.slice(7), body.length ? (JSON.parse(body.toString()) as Record<string, unknown>) : {}, calls);
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out) + '\n');
          } catch (err) {
            res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (err as Error).message }) + '\n');
          }
          return;
        }
        let action = '?';
        let region = '?';
        try {
          const p = Params.parse(body.toString('utf8'), url.searchParams);
          action = p.get('Action') ?? '';
          const caller = verifySigV4({ method: req.method ?? 'POST', path: url.pathname, query: url.searchParams, headers: req.headers, body }, credentials);
          calls.set(action, (calls.get(action) ?? 0) + 1);
          region = caller.region;
          const handler = ACTIONS[action];
          if (!handler) throw new Ec2Error('InvalidAction', `The action ${action} is not valid for this web service.`);
          if (p.bool('DryRun')) throw new Ec2Error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
          m.region(caller.region);
          const out = await handler(m, caller.region, p);
          log.push({ at: Date.now(), action, region });
          res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8' }).end(response(action, out));
        } catch (err) {
          const e = err instanceof Ec2Error ? err : new Ec2Error('InternalError', `An internal error has occurred (${(err as Error).message})`, 500);
          log.push({ at: Date.now(), action, region, error: e.code });
          res.writeHead(e.status, { 'content-type': 'text/xml;charset=UTF-8' }).end(errorBody(e.code, e.message));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    calls,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export { CANONICAL };
