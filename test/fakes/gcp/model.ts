// The fake project's state: zones and machine types (from the shipped GCP catalog, so every
// offering the optimizer can pick exists), instances, firewalls and operations, with the GCE
// lifecycles (PROVISIONING → STAGING → RUNNING → STOPPING → TERMINATED), zonal/global operations
// that end DONE with `error.errors[]` the way GCE reports ZONE_RESOURCE_POOL_EXHAUSTED and
// QUOTA_EXCEEDED, SPOT instances preempted with a `compute.instances.preempted` operation, and a
// VM behind every RUNNING instance (GceVms: real sshd hosts in the tests).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface GceVms {
  /**
   * Brings up the VM of an instance (first boot or start); resolves with its internal address and,
   * when the VM should be reached only through the firewall, an external one the fake forwards.
   */
  boot(id: string, init: { publicKeys: string[]; firstBoot: boolean; userData?: string }): Promise<{ ip: string; externalIp?: string }>;
  /** stops it keeping its disk (stop, preemption with STOP) */
  halt(id: string, how: 'stop' | 'preempt'): Promise<void>;
  /** removes it and its disk */
  destroy(id: string): Promise<void>;
  /** the TCP ports the firewall opens on its external address */
  ingress?(id: string, ports: number[]): void;
  /** the guest powered itself off */
  onGuestShutdown?(fn: (id: string) => void): void;
  close?(): Promise<void>;
}

/** No VM behind instances: enough for the API-only checks (gcloud). */
export const NO_VMS: GceVms = {
  async boot(id) {
    const n = Number(BigInt(id) % 250n) + 1;
    return { ip: `10.128.0.${n}` };
  },
  async halt() {},
  async destroy() {},
};

export type Json = Record<string, unknown>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Operation extends Json {
  id: string;
  name: string;
  status: 'PENDING' | 'RUNNING' | 'DONE';
}

export interface Instance extends Json {
  id: string;
  name: string;
  zone: string;
  status: string;
  labels: Record<string, string>;
}

export interface CatalogZone {
  region: string;
  zone: string;
  machineTypes: Map<string, { cpus: number; memGiB: number }>;
}

export function catalogZones(root: string): Map<string, CatalogZone> {
  const text = readFileSync(join(root, 'catalog', 'gcp', 'vms.csv'), 'utf8');
  const [head, ...rows] = text.trim().split('\n');
  const cols = head!.split(',');
  const at = (k: string) => cols.indexOf(k);
  const [iT, iC, iM, iR, iZ] = [at('InstanceType'), at('vCPUs'), at('MemoryGiB'), at('Region'), at('AvailabilityZone')];
  const zones = new Map<string, CatalogZone>();
  for (const line of rows) {
    const f = line.split(',');
    const zone = f[iZ]!;
    if (!zone) continue;
    let z = zones.get(zone);
    if (!z) zones.set(zone, (z = { region: f[iR]!, zone, machineTypes: new Map() }));
    if (f[iT]) z.machineTypes.set(f[iT]!, { cpus: Number(f[iC]), memGiB: Number(f[iM]) });
  }
  return zones;
}

let idCounter = BigInt(Date.now()) * 1000n;
export const newId = (): string => String(++idCounter);
const ts = (ms = Date.now()) => new Date(ms).toISOString().replace('Z', '-00:00');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Injection {
  code: 'ZONE_RESOURCE_POOL_EXHAUSTED' | 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS' | 'QUOTA_EXCEEDED' | 'UNSUPPORTED_OPERATION';
  /** how many inserts fail (default: all until cleared) */
  times?: number;
}

export class GceModel {
  readonly instances = new Map<string, Instance>(); // key zone/name
  readonly firewalls = new Map<string, Json>();
  readonly operations = new Map<string, Operation>(); // key scope/name
  readonly zoneFailures = new Map<string, Injection>();
  /** region → CPUS quota */
  readonly cpuQuota = new Map<string, number>();
  /** every insert attempt, for tests: zone, name, outcome */
  readonly attempts: Array<{ zone: string; name: string; error?: string; bootMs?: number }> = [];
  private waiters = new Map<string, Array<() => void>>();

  constructor(
    readonly project: string,
    readonly zones: Map<string, CatalogZone>,
    readonly vms: GceVms,
    readonly base: () => string,
    readonly timing: { bootMs: number; opMs: number } = { bootMs: 0, opMs: 5 },
  ) {
    const network = `${base()}projects/${project}/global/networks/default`;
    // A new project's default network comes with these rules (ssh from anywhere, internal traffic).
    vms.onGuestShutdown?.((id) => void this.guestShutdown(id));
    this.firewalls.set('default-allow-ssh', {
      kind: 'compute#firewall', id: newId(), name: 'default-allow-ssh', network, direction: 'INGRESS', priority: 65534,
      sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'tcp', ports: ['22'] }], creationTimestamp: ts(),
      selfLink: `${base()}projects/${project}/global/firewalls/default-allow-ssh`, disabled: false,
    });
  }

  link(path: string): string {
    return `${this.base()}projects/${this.project}/${path}`;
  }

  zone(name: string): CatalogZone {
    const z = this.zones.get(name);
    if (!z) throw new ApiError(404, 'notFound', `The resource 'projects/${this.project}/zones/${name}' was not found`);
    return z;
  }

  regions(): string[] {
    return [...new Set([...this.zones.values()].map((z) => z.region))].sort();
  }

  // ---- operations ----

  newOperation(scope: string, type: string, target: string, targetId?: string): Operation {
    const name = `operation-${Date.now()}-${randomBytes(6).toString('hex')}-${randomBytes(4).toString('hex')}`;
    const op: Operation = {
      kind: 'compute#operation', id: newId(), name, operationType: type, targetLink: target,
      ...(targetId ? { targetId } : {}), status: 'PENDING', user: `aloft-fake@${this.project}.iam.gserviceaccount.com`,
      progress: 0, insertTime: ts(), selfLink: this.link(`${scope}/operations/${name}`),
      ...(scope.startsWith('zones/') ? { zone: this.link(scope) } : scope.startsWith('regions/') ? { region: this.link(scope) } : {}),
    };
    this.operations.set(`${scope}/${name}`, op);
    return op;
  }

  private finish(scope: string, op: Operation, error?: { code: string; message: string; http: [number, string]; details?: Json[] }): void {
    Object.assign(op, { status: 'DONE', progress: 100, endTime: ts() });
    if (!op.startTime) op.startTime = ts();
    if (error) {
      op.error = { errors: [{ code: error.code, message: error.message, ...(error.details ? { errorDetails: error.details } : {}) }] };
      op.httpErrorStatusCode = error.http[0];
      op.httpErrorMessage = error.http[1];
    }
    for (const w of this.waiters.get(`${scope}/${op.name}`) ?? []) w();
    this.waiters.delete(`${scope}/${op.name}`);
  }

  /** Runs `work` as the operation's body: RUNNING, then DONE (with the error it throws, if any). */
  run(scope: string, op: Operation, work: () => Promise<void>): void {
    void (async () => {
      await sleep(this.timing.opMs);
      Object.assign(op, { status: 'RUNNING', startTime: ts(), progress: 0 });
      try {
        await work();
        this.finish(scope, op);
      } catch (err) {
        const e = err as Error & { gce?: { code: string; http: [number, string]; details?: Json[] } };
        this.finish(scope, op, e.gce ? { code: e.gce.code, message: e.message, http: e.gce.http, details: e.gce.details } : { code: 'INTERNAL_ERROR', message: e.message, http: [500, 'INTERNAL SERVER ERROR'] });
      }
    })();
  }

  getOperation(scope: string, name: string): Operation {
    const op = this.operations.get(`${scope}/${name}`);
    if (!op) throw new ApiError(404, 'notFound', `The resource 'projects/${this.project}/${scope}/operations/${name}' was not found`);
    return op;
  }

  /** operations.wait: returns when DONE, or after `maxMs` with the operation as it is. */
  async waitOperation(scope: string, name: string, maxMs: number): Promise<Operation> {
    const op = this.getOperation(scope, name);
    if (op.status === 'DONE') return op;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, maxMs);
      const list = this.waiters.get(`${scope}/${name}`) ?? [];
      list.push(() => (clearTimeout(t), resolve()));
      this.waiters.set(`${scope}/${name}`, list);
    });
    return op;
  }

  // ---- instances ----

  instance(zone: string, name: string): Instance {
    const i = this.instances.get(`${zone}/${name}`);
    if (!i) throw new ApiError(404, 'notFound', `The resource 'projects/${this.project}/zones/${zone}/instances/${name}' was not found`);
    return i;
  }

  private usedCpus(region: string): number {
    let n = 0;
    for (const i of this.instances.values()) {
      if (i.status === 'TERMINATED' || i.status === 'STOPPING') continue;
      if (this.zones.get(i.zone)?.region === region) n += (i._cpus as number) ?? 0;
    }
    return n;
  }

  insertInstance(zone: string, body: Json): Operation {
    const z = this.zone(zone);
    const name = String(body.name ?? '');
    if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) {
      throw new ApiError(400, 'invalid', `Invalid value for field 'resource.name': '${name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`);
    }
    if (this.instances.has(`${zone}/${name}`)) {
      throw new ApiError(409, 'alreadyExists', `The resource 'projects/${this.project}/zones/${zone}/instances/${name}' already exists`);
    }
    const mtName = String(body.machineType ?? '').split('/').pop()!;
    const mt = z.machineTypes.get(mtName);
    if (!mt) {
      throw new ApiError(400, 'invalid', `Invalid value for field 'resource.machineType': '${body.machineType}'. Machine type with name '${mtName}' does not exist in zone '${zone}'.`);
    }
    const hostMaintenance = ((body.scheduling ?? {}) as Json).onHostMaintenance;
    if ((/^(a2|a3|a4|g2)-/.test(mtName) || ((body.guestAccelerators as unknown[] | undefined) ?? []).length) && hostMaintenance !== 'TERMINATE') {
      throw new ApiError(400, 'invalid', `Invalid value for field 'resource.scheduling.onHostMaintenance': '${hostMaintenance ?? 'MIGRATE'}'. Instances with guest accelerators do not support live migration.`);
    }
    const labels = (body.labels ?? {}) as Record<string, string>;
    for (const [k, v] of Object.entries(labels)) {
      if (!/^[a-z][a-z0-9_-]{0,62}$/.test(k) || !/^[a-z0-9_-]{0,63}$/.test(v)) {
        throw new ApiError(400, 'invalid', `Invalid value for field 'resource.labels': '${k}=${v}'. Label keys and values can only contain lowercase letters, numeric characters, underscores and dashes.`);
      }
    }
    const disks = (body.disks ?? []) as Json[];
    const boot = disks.find((d) => d.boot) ?? disks[0];
    const init = (boot?.initializeParams ?? {}) as Json;
    const image = String(init.sourceImage ?? '');
    if (!/projects\/[a-z0-9-]+\/(global\/images|zones\/-\/imageFamilyViews)\/|^global\/images\//.test(image)) {
      throw new ApiError(400, 'invalid', `Invalid value for field 'resource.disks[0].initializeParams.sourceImage': '${image}'. The URL is malformed.`);
    }
    const id = newId();
    const op = this.newOperation(`zones/${zone}`, 'insert', this.link(`zones/${zone}/instances/${name}`), id);
    const failure = this.zoneFailures.get(zone);
    this.run(`zones/${zone}`, op, async () => {
      if (failure) {
        if (failure.times !== undefined && --failure.times <= 0) this.zoneFailures.delete(zone);
        this.attempts.push({ zone, name, error: failure.code });
        throw zoneError(this.project, zone, z.region, failure.code, this.cpuQuota.get(z.region) ?? 0);
      }
      const quota = this.cpuQuota.get(z.region);
      if (quota !== undefined && this.usedCpus(z.region) + mt.cpus > quota) {
        this.attempts.push({ zone, name, error: 'QUOTA_EXCEEDED' });
        throw zoneError(this.project, zone, z.region, 'QUOTA_EXCEEDED', quota);
      }
      const attempt: (typeof this.attempts)[number] = { zone, name };
      this.attempts.push(attempt);
      const inst = this.newInstance(zone, name, id, body, mt.cpus, boot, init);
      this.instances.set(`${zone}/${name}`, inst);
      const t0 = Date.now();
      await this.bootInstance(inst, true);
      attempt.bootMs = Date.now() - t0; // the cloud's own part: boot delay + the VM's sshd up
    });
    return op;
  }

  private newInstance(zone: string, name: string, id: string, body: Json, cpus: number, boot: Json | undefined, init: Json): Instance {
    const sched = (body.scheduling ?? {}) as Json;
    const spot = sched.provisioningModel === 'SPOT' || sched.preemptible === true;
    const nics = ((body.networkInterfaces as Json[] | undefined) ?? [{}]).map((n, i) => ({
      kind: 'compute#networkInterface',
      network: n.network ?? this.link('global/networks/default'),
      subnetwork: this.link(`regions/${this.zones.get(zone)!.region}/subnetworks/default`),
      name: `nic${i}`,
      stackType: 'IPV4_ONLY',
      fingerprint: randomBytes(8).toString('base64'),
      accessConfigs: ((n.accessConfigs as Json[] | undefined) ?? []).map((a) => ({ kind: 'compute#accessConfig', type: 'ONE_TO_ONE_NAT', name: a.name ?? 'External NAT', networkTier: 'PREMIUM' })),
    }));
    const diskType = String(init.diskType ?? `zones/${zone}/diskTypes/pd-standard`).split('/').pop();
    return {
      kind: 'compute#instance', id, name, zone, status: 'PROVISIONING', creationTimestamp: ts(),
      description: body.description ?? '',
      machineType: this.link(`zones/${zone}/machineTypes/${String(body.machineType).split('/').pop()}`),
      labels: { ...((body.labels ?? {}) as Record<string, string>) },
      labelFingerprint: randomBytes(8).toString('base64'),
      tags: { items: ((body.tags as Json | undefined)?.items as string[] | undefined) ?? [], fingerprint: randomBytes(8).toString('base64') },
      metadata: { kind: 'compute#metadata', fingerprint: randomBytes(8).toString('base64'), items: ((body.metadata as Json | undefined)?.items as Json[] | undefined) ?? [] },
      networkInterfaces: nics,
      disks: [{
        kind: 'compute#attachedDisk', type: 'PERSISTENT', mode: 'READ_WRITE', boot: true, autoDelete: boot?.autoDelete ?? true, index: 0,
        deviceName: 'persistent-disk-0', interface: 'SCSI', source: this.link(`zones/${zone}/disks/${name}`),
        diskSizeGb: String(init.diskSizeGb ?? '10'), _diskType: diskType, _sourceImage: init.sourceImage,
      }],
      guestAccelerators: body.guestAccelerators ?? [],
      scheduling: { onHostMaintenance: spot ? 'TERMINATE' : 'MIGRATE', automaticRestart: !spot, preemptible: spot, provisioningModel: spot ? 'SPOT' : 'STANDARD', ...(spot ? { instanceTerminationAction: sched.instanceTerminationAction ?? 'STOP' } : {}) },
      serviceAccounts: body.serviceAccounts ?? [],
      selfLink: this.link(`zones/${zone}/instances/${name}`),
      cpuPlatform: 'Intel Cascade Lake', deletionProtection: false, startRestricted: false,
      fingerprint: randomBytes(8).toString('base64'),
      _cpus: cpus,
    };
  }

  private publicKeys(inst: Instance): string[] {
    const items = ((inst.metadata as Json).items as Array<{ key: string; value: string }>) ?? [];
    const keys = items.filter((i) => i.key === 'ssh-keys' || i.key === 'sshKeys').flatMap((i) => i.value.split('\n'));
    // "user:ssh-ed25519 AAAA... comment" → the key part.
    return keys.map((k) => k.replace(/^[^:\s]+:/, '').trim()).filter(Boolean);
  }

  private async bootInstance(inst: Instance, firstBoot: boolean): Promise<void> {
    inst.status = 'STAGING';
    await sleep(this.timing.bootMs);
    const gone = () => this.instances.get(`${inst.zone}/${inst.name}`) !== inst;
    if (gone()) throw new Error(`instance ${inst.name} was deleted while it booted`);
    const items = ((inst.metadata as Json).items as Array<{ key: string; value: string }>) ?? [];
    const userData = items.find((i) => i.key === 'startup-script' || i.key === 'user-data')?.value;
    const { ip, externalIp } = await this.vms.boot(inst.id, { publicKeys: this.publicKeys(inst), firstBoot, userData });
    if (gone()) {
      // deleted while its VM came up: that VM goes too
      await this.vms.destroy(inst.id);
      throw new Error(`instance ${inst.name} was deleted while it booted`);
    }
    const nic = (inst.networkInterfaces as Json[])[0]!;
    nic.networkIP = ip;
    for (const a of nic.accessConfigs as Json[]) a.natIP = externalIp ?? ip;
    inst.status = 'RUNNING';
    inst.lastStartTimestamp = ts();
    this.onNetworkChange();
  }

  private async haltInstance(inst: Instance, how: 'stop' | 'preempt'): Promise<void> {
    inst.status = 'STOPPING';
    this.onNetworkChange();
    await this.vms.halt(inst.id, how);
    inst.status = 'TERMINATED';
    inst.lastStopTimestamp = ts();
    const nic = (inst.networkInterfaces as Json[])[0]!;
    for (const a of nic.accessConfigs as Json[]) delete a.natIP; // ephemeral external IPs go with the VM
  }

  deleteInstance(zone: string, name: string): Operation {
    const inst = this.instance(zone, name);
    const op = this.newOperation(`zones/${zone}`, 'delete', inst.selfLink as string, inst.id);
    this.run(`zones/${zone}`, op, async () => {
      inst.status = 'STOPPING';
      this.onNetworkChange();
      await this.vms.destroy(inst.id);
      this.instances.delete(`${zone}/${name}`);
      this.onNetworkChange();
    });
    return op;
  }

  stopInstance(zone: string, name: string): Operation {
    const inst = this.instance(zone, name);
    const op = this.newOperation(`zones/${zone}`, 'stop', inst.selfLink as string, inst.id);
    this.run(`zones/${zone}`, op, async () => {
      if (inst.status !== 'TERMINATED') await this.haltInstance(inst, 'stop');
    });
    return op;
  }

  startInstance(zone: string, name: string): Operation {
    const inst = this.instance(zone, name);
    const op = this.newOperation(`zones/${zone}`, 'start', inst.selfLink as string, inst.id);
    this.run(`zones/${zone}`, op, async () => {
      if (inst.status === 'RUNNING') return;
      const z = this.zone(zone);
      const failure = this.zoneFailures.get(zone);
      if (failure && failure.code !== 'QUOTA_EXCEEDED') throw zoneError(this.project, zone, z.region, failure.code, 0);
      await this.bootInstance(inst, false);
    });
    return op;
  }

  /** Reclaims a SPOT instance the way GCE does: VM killed, TERMINATED (or deleted), a preempted operation. */
  async preempt(zone: string, name: string): Promise<void> {
    const inst = this.instance(zone, name);
    const sched = inst.scheduling as Json;
    if (sched.provisioningModel !== 'SPOT') throw new Error(`${name} is not a SPOT instance`);
    const op = this.newOperation(`zones/${zone}`, 'compute.instances.preempted', inst.selfLink as string, inst.id);
    Object.assign(op, { status: 'DONE', progress: 100, startTime: ts(), endTime: ts(), statusMessage: 'Instance was preempted.', user: 'system' });
    await this.haltInstance(inst, 'preempt');
    if (sched.instanceTerminationAction === 'DELETE') {
      await this.vms.destroy(inst.id);
      this.instances.delete(`${zone}/${name}`);
    }
    this.onNetworkChange();
  }

  /** A guest `poweroff`: GCE stops the instance (TERMINATED, disk kept). */
  private async guestShutdown(id: string): Promise<void> {
    const inst = [...this.instances.values()].find((i) => i.id === id);
    if (!inst || inst.status !== 'RUNNING') return;
    // GCE records a guest-initiated shutdown as its own system operation.
    const op = this.newOperation(`zones/${inst.zone}`, 'compute.instances.guestTerminate', inst.selfLink as string, inst.id);
    Object.assign(op, { status: 'DONE', progress: 100, startTime: ts(), endTime: ts(), user: 'system', statusMessage: 'Instance terminated by guest OS shutdown.' });
    await this.haltInstance(inst, 'stop');
  }

  /** Opens on every instance's VM the ports the firewall rules allow it (after any change). */
  onNetworkChange(): void {
    for (const inst of this.instances.values()) this.vms.ingress?.(inst.id, this.openPorts(inst));
  }

  // ---- firewalls ----

  insertFirewall(body: Json): Operation {
    const name = String(body.name ?? '');
    if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) throw new ApiError(400, 'invalid', `Invalid value for field 'resource.name': '${name}'.`);
    if (this.firewalls.has(name)) throw new ApiError(409, 'alreadyExists', `The resource 'projects/${this.project}/global/firewalls/${name}' already exists`);
    const fw: Json = {
      kind: 'compute#firewall', id: newId(), creationTimestamp: ts(), direction: 'INGRESS', priority: 1000, disabled: false,
      network: this.link('global/networks/default'), sourceRanges: ['0.0.0.0/0'], ...body, name,
      selfLink: this.link(`global/firewalls/${name}`),
    };
    const op = this.newOperation('global', 'insert', fw.selfLink as string, fw.id as string);
    this.run('global', op, async () => {
      this.firewalls.set(name, fw);
      this.onNetworkChange();
    });
    return op;
  }

  firewall(name: string): Json {
    const fw = this.firewalls.get(name);
    if (!fw) throw new ApiError(404, 'notFound', `The resource 'projects/${this.project}/global/firewalls/${name}' was not found`);
    return fw;
  }

  patchFirewall(name: string, body: Json): Operation {
    const fw = this.firewall(name);
    const op = this.newOperation('global', 'patch', fw.selfLink as string, fw.id as string);
    this.run('global', op, async () => {
      for (const [k, v] of Object.entries(body)) if (k !== 'name' && k !== 'id' && k !== 'selfLink') fw[k] = v;
      this.onNetworkChange();
    });
    return op;
  }

  deleteFirewall(name: string): Operation {
    const fw = this.firewall(name);
    const op = this.newOperation('global', 'delete', fw.selfLink as string, fw.id as string);
    this.run('global', op, async () => {
      this.firewalls.delete(name);
      this.onNetworkChange();
    });
    return op;
  }

  /** TCP ports the firewall opens to the outside for an instance (its tags against targetTags). */
  openPorts(inst: Instance): number[] {
    const tags = new Set(((inst.tags as Json).items as string[]) ?? []);
    const ports = new Set<number>();
    for (const fw of this.firewalls.values()) {
      if (fw.disabled || fw.direction !== 'INGRESS') continue;
      const target = (fw.targetTags as string[] | undefined) ?? [];
      if (target.length && !target.some((t) => tags.has(t))) continue;
      if (!((fw.sourceRanges as string[] | undefined) ?? []).some((r) => r === '0.0.0.0/0' || r.startsWith('127.'))) continue;
      for (const a of (fw.allowed as Array<{ IPProtocol: string; ports?: string[] }>) ?? []) {
        if (a.IPProtocol !== 'tcp' && a.IPProtocol !== 'all') continue;
        for (const p of a.ports ?? []) {
          const [lo, hi] = p.split('-').map(Number);
          for (let x = lo!; x <= (hi ?? lo!) && x - lo! < 100; x++) ports.add(x);
        }
      }
    }
    return [...ports].sort((a, b) => a - b);
  }
}

function zoneError(project: string, zone: string, region: string, code: Injection['code'], quota: number): Error {
  const err = new Error() as Error & { gce: { code: string; http: [number, string]; details?: Json[] } };
  if (code === 'QUOTA_EXCEEDED') {
    err.message = `Quota 'CPUS' exceeded.  Limit: ${quota.toFixed(1)} in region ${region}.`;
    err.gce = {
      code,
      http: [403, 'FORBIDDEN'],
      details: [{ quotaInfo: { metricName: 'compute.googleapis.com/cpus', limitName: 'CPUS-per-project-region', dimensions: { region }, limit: quota } }],
    };
  } else if (code === 'UNSUPPORTED_OPERATION') {
    err.message = `The resource 'projects/${project}/zones/${zone}/instances' is not ready.`;
    err.gce = { code, http: [400, 'BAD REQUEST'] };
  } else {
    err.message = `The zone 'projects/${project}/zones/${zone}' does not have enough resources available to fulfill the request.  Try a different zone, or try again later.`;
    err.gce = { code, http: [503, 'SERVICE UNAVAILABLE'] };
  }
  return err;
}
