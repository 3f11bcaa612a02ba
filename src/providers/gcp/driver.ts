// GCP Compute Engine as a CloudDriver (../cloud/driver.ts), on @google-cloud/compute 6.x
// (imported lazily: the CLI's start-up never loads it). Every call goes with an explicit
// authClient built from the credentials file — without one, google-gax's lazy initialize turns a
// missing-credentials error into an unhandled rejection that would kill the daemon.
//
// Instances: one per rank, named <cluster>-<uid>-<rank>, labelled with the cluster name, uid and
// rank (how status, a restart and down find exactly ours), network-tagged with the cluster's
// firewall rule aloft-<cluster>-<uid> (ssh + the task's ports), booted from Ubuntu 22.04 (or
// `image_id`) with the user's ssh key and the bootstrap as startup-script. Provisioning errors
// arrive as DONE operations carrying `error.errors[]` (errors.ts maps them to failover kinds).
// Listing is one aggregatedList over every zone for all of a daemon's concurrent list calls.
import { readFile } from 'node:fs/promises';
import type { protos } from '@google-cloud/compute';
import { clusterResourceName, nodeTags, portRanges, TAG_CLUSTER, TAG_RANK, TAG_UID, type CloudDriver, type CloudInstance, type InstanceState, type LaunchSpec } from '../cloud/driver.js';
import type { ProvisionErrorKind } from '../types.js';
import { withTimeout } from '../../util/timeout.js';
import { classifyGce, describeGce, GceOperationError, isStatus } from './errors.js';
import type { GcpSettings } from './settings.js';

type Compute = typeof import('@google-cloud/compute');
type Operation = protos.google.cloud.compute.v1.IOperation;
type Instance = protos.google.cloud.compute.v1.IInstance;

interface Clients {
  project: string;
  instances: InstanceType<Compute['InstancesClient']>;
  zoneOps: InstanceType<Compute['ZoneOperationsClient']>;
  globalOps: InstanceType<Compute['GlobalOperationsClient']>;
  firewalls: InstanceType<Compute['FirewallsClient']>;
  zones: InstanceType<Compute['ZonesClient']>;
}

interface Row {
  inst: CloudInstance;
  gceId: string;
  lastStart?: string;
  /** our label: what a guest shutdown means (stop | delete) */
  shutdown?: string;
}

/** Label on our instances: what a guest shutdown means (GCE itself always stops the instance). */
export const LABEL_SHUTDOWN = 'aloft-shutdown';
const DEFAULT_IMAGE = 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts';
/** GPU machine families (the GPUs come with the type): NVIDIA's driver preinstalled, no live migration. */
const GPU_TYPE = /^(a2|a3|a4|g2)-/;
/** GPUs GCE attaches to an N1 VM (guestAccelerators), by the catalog's names. */
const ATTACHED_GPU: Record<string, string> = {
  T4: 'nvidia-tesla-t4',
  V100: 'nvidia-tesla-v100',
  P100: 'nvidia-tesla-p100',
  P4: 'nvidia-tesla-p4',
  K80: 'nvidia-tesla-k80',
};
const GPU_IMAGE = 'projects/ubuntu-os-accelerator-images/global/images/family/ubuntu-accelerator-2204-amd64-with-nvidia-550';
/** SkyPilot's disk_tier → GCE persistent disk types. */
const DISK_TYPES: Record<string, string> = { low: 'pd-standard', medium: 'pd-balanced', high: 'pd-ssd', ultra: 'pd-extreme', best: 'pd-ssd' };

export function instanceName(cluster: string, uid: string, rank: number): string {
  return `${cluster}-${uid}-${rank}`;
}

/** GCE label values: lowercase letters, digits, `_` and `-`, at most 63. */
function labelSafe(v: string): string {
  return v.toLowerCase().replace(/[^a-z0-9_-]/g, '_').slice(0, 63);
}

function stateOf(status: string | null | undefined): InstanceState {
  switch (status) {
    case 'RUNNING':
      return 'running';
    case 'STOPPING':
    case 'SUSPENDING':
      return 'stopping';
    case 'TERMINATED':
    case 'SUSPENDED':
      return 'stopped';
    default:
      return 'pending'; // PROVISIONING, STAGING, REPAIRING
  }
}

const lastSegment = (url: string | null | undefined): string => String(url ?? '').split('/').pop() ?? '';

export class GcpDriver implements CloudDriver {
  readonly cloud = 'gcp';
  readonly defaultSshUser = 'gcpuser';
  readonly spotStoppable = true;
  private clientsFor?: { key: string; clients: Promise<Clients> };
  private listing?: Promise<Row[]>;
  /** firewall rules this process made or checked, with their ports (a failover reuses them) */
  private readonly rules = new Map<string, string>();

  constructor(private readonly settings: () => GcpSettings) {}

  /** Loads the SDK (seconds: an 11 MB proto set) ahead of the first call; the daemon does it after start. */
  async warm(): Promise<void> {
    await this.clients();
  }

  credentials(): { ok: boolean; reason: string } {
    let s: GcpSettings;
    try {
      s = this.settings();
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
    if (s.missing) return { ok: false, reason: s.missing };
    if (!s.project) return { ok: false, reason: `${s.source}, but no project: set gcp.project_id in config.yaml, GOOGLE_CLOUD_PROJECT, or \`gcloud config set project P\`` };
    return { ok: true, reason: `${s.source}; project ${s.project} (${s.projectSource})${s.endpoint.url ? `; endpoint ${s.endpoint.url}` : ''}` };
  }

  private clients(): Promise<Clients> {
    const s = this.settings();
    const key = JSON.stringify([s.credentialsFile, s.project, s.endpoint]);
    if (this.clientsFor?.key === key) return this.clientsFor.clients;
    const clients = (async (): Promise<Clients> => {
      if (s.missing || !s.credentialsFile) throw new Error(s.missing ?? 'no GCP credentials');
      if (!s.project) throw new Error('no GCP project (gcp.project_id in config.yaml, or GOOGLE_CLOUD_PROJECT)');
      const compute: Compute = await import('@google-cloud/compute');
      const where = s.endpoint.apiEndpoint ? { apiEndpoint: s.endpoint.apiEndpoint, port: s.endpoint.port, protocol: s.endpoint.protocol } : {};
      // `scopes: undefined` keeps google-auth's default for service accounts on every endpoint:
      // a self-signed JWT (no token exchange). The auth client is built and checked here, once.
      const boot = new compute.ZonesClient({ ...where, projectId: s.project, scopes: undefined });
      const json = JSON.parse(await readFile(s.credentialsFile, 'utf8')) as Parameters<typeof boot.auth.fromJSON>[0];
      const authClient = boot.auth.fromJSON(json);
      await authClient.getRequestHeaders('https://compute.googleapis.com/');
      const opts = { ...where, authClient, projectId: s.project };
      return {
        project: s.project,
        instances: new compute.InstancesClient(opts),
        zoneOps: new compute.ZoneOperationsClient(opts),
        globalOps: new compute.GlobalOperationsClient(opts),
        firewalls: new compute.FirewallsClient(opts),
        zones: new compute.ZonesClient(opts),
      };
    })();
    clients.catch(() => {
      if (this.clientsFor?.clients === clients) this.clientsFor = undefined;
    });
    this.clientsFor = { key, clients };
    return clients;
  }

  async ping(timeoutMs: number): Promise<string> {
    const c = await this.clients(); // loading the SDK is ours, not the API's time
    const call = c.zones.list({ project: c.project, maxResults: 500 }, { timeout: timeoutMs, maxRetries: 0, autoPaginate: false });
    const [zones] = await withTimeout(call, timeoutMs, `no answer within ${timeoutMs} ms`);
    return `Compute Engine API answered: ${zones.length} zone(s) in project ${c.project}`;
  }

  // ---- operations ----

  private async waitZone(c: Clients, zone: string, op: Operation | null | undefined): Promise<void> {
    let cur = op;
    while (cur && cur.status !== 'DONE') [cur] = await c.zoneOps.wait({ project: c.project, zone, operation: cur.name! });
    const e = cur?.error?.errors?.[0];
    if (e) throw new GceOperationError(e.code ?? 'UNKNOWN', e.message ?? 'operation failed', zone);
  }

  private async waitGlobal(c: Clients, op: Operation | null | undefined): Promise<void> {
    let cur = op;
    while (cur && cur.status !== 'DONE') [cur] = await c.globalOps.wait({ project: c.project, operation: cur.name! });
    const e = cur?.error?.errors?.[0];
    if (e) throw new GceOperationError(e.code ?? 'UNKNOWN', e.message ?? 'operation failed');
  }

  // ---- instances ----

  async create(spec: LaunchSpec): Promise<CloudInstance[]> {
    const c = await this.clients();
    const zone = spec.zone;
    if (!zone) throw new Error(`gcp: a launch needs a zone (region ${spec.region})`);
    await this.openPorts(spec.region, spec.cluster, spec.uid, spec.ports);
    const tag = clusterResourceName(spec.cluster, spec.uid);
    const taskLabels = Object.fromEntries(Object.entries(spec.labels).map(([k, v]) => [labelSafe(k), labelSafe(v)]));
    const diskType = DISK_TYPES[spec.diskTier ?? 'medium'] ?? 'pd-balanced';
    const attached = !GPU_TYPE.test(spec.instanceType) && spec.accelerator ? ATTACHED_GPU[spec.accelerator.name] : undefined;
    if (spec.accelerator && !GPU_TYPE.test(spec.instanceType) && !attached) {
      throw new Error(`gcp: ${spec.accelerator.name} cannot be attached to ${spec.instanceType} (GCE attaches ${Object.keys(ATTACHED_GPU).join(', ')} to N1 VMs)`);
    }
    const gpu = GPU_TYPE.test(spec.instanceType) || !!attached;
    const image = !spec.imageId ? (gpu ? GPU_IMAGE : DEFAULT_IMAGE) : spec.imageId.includes('/') ? spec.imageId : `projects/${c.project}/global/images/${spec.imageId}`;
    const resource = (rank: number): Instance => ({
      name: instanceName(spec.cluster, spec.uid, rank),
      machineType: `zones/${zone}/machineTypes/${spec.instanceType}`,
      labels: { ...taskLabels, ...nodeTags(spec.cluster, spec.uid, rank), [LABEL_SHUTDOWN]: spec.shutdownBehavior === 'terminate' ? 'delete' : 'stop' },
      tags: { items: [tag] },
      ...(attached ? { guestAccelerators: [{ acceleratorType: `zones/${zone}/acceleratorTypes/${attached}`, acceleratorCount: spec.accelerator!.count }] } : {}),
      disks: [{ boot: true, autoDelete: true, type: 'PERSISTENT', initializeParams: { sourceImage: image, diskSizeGb: String(spec.diskSizeGb), diskType: `zones/${zone}/diskTypes/${diskType}` } }],
      networkInterfaces: [{ network: 'global/networks/default', accessConfigs: [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT' }] }],
      metadata: { items: [{ key: 'ssh-keys', value: `${spec.sshUser}:${spec.publicKey}` }, { key: 'startup-script', value: spec.userData }] },
      scheduling: spec.useSpot
        ? // DELETE: a preempted node leaves nothing behind (no stopped VM, no disk), like EC2's one-time spot
          { provisioningModel: 'SPOT', instanceTerminationAction: 'DELETE', automaticRestart: false, onHostMaintenance: 'TERMINATE' }
        : { provisioningModel: 'STANDARD', automaticRestart: true, onHostMaintenance: gpu ? 'TERMINATE' : 'MIGRATE' },
    });
    const results = await Promise.allSettled(
      spec.ranks.map(async (rank) => {
        const [op] = await c.instances.insert({ project: c.project, zone, instanceResource: resource(rank) });
        await this.waitZone(c, zone, op.latestResponse as Operation);
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      // A partial launch is removed before the failover loop tries the next zone.
      const made = spec.ranks.filter((_, i) => results[i]!.status === 'fulfilled').map((r) => `${zone}/${instanceName(spec.cluster, spec.uid, r)}`);
      await this.terminate(spec.region, made).catch(() => undefined);
      throw failed.reason;
    }
    // The base polls the listing for states and addresses next; no need to list here too.
    return spec.ranks.map((rank) => ({
      id: `${zone}/${instanceName(spec.cluster, spec.uid, rank)}`,
      cluster: spec.cluster,
      uid: spec.uid,
      rank,
      region: spec.region,
      zone,
      state: 'pending' as const,
    }));
  }

  /** Every instance of ours in every zone: one aggregatedList, shared by the calls of one tick. */
  private listAll(): Promise<Row[]> {
    if (this.listing) return this.listing;
    const p = new Promise<void>((r) => setImmediate(r)).then(async () => {
      this.listing = undefined; // later callers (after a change) get a fresh answer
      const c = await this.clients();
      const events = this.systemOperations(c); // in parallel with the instances
      events.catch(() => undefined);
      const out: Row[] = [];
      const iter = c.instances.aggregatedListAsync({ project: c.project, filter: `labels.${TAG_UID}:*`, maxResults: 500, returnPartialSuccess: true });
      for await (const [scope, list] of iter) {
        const zone = lastSegment(scope);
        for (const i of list.instances ?? []) {
          const labels = i.labels ?? {};
          const nic = i.networkInterfaces?.[0];
          const state = stateOf(i.status);
          out.push({
            gceId: String(i.id ?? ''),
            lastStart: i.lastStartTimestamp ?? undefined,
            shutdown: labels[LABEL_SHUTDOWN],
            inst: {
              id: `${zone}/${i.name}`,
              cluster: labels[TAG_CLUSTER] ?? '',
              uid: labels[TAG_UID] ?? '',
              rank: Number(labels[TAG_RANK] ?? -1),
              region: zone.replace(/-[a-z]$/, ''),
              zone,
              state,
              privateIp: nic?.networkIP ?? undefined,
              publicIp: nic?.accessConfigs?.[0]?.natIP ?? undefined,
            },
          });
        }
      }
      const tombstones = this.systemEvents(out, await events);
      return [...out, ...tombstones.map((inst): Row => ({ inst, gceId: '' }))];
    });
    this.listing = p;
    p.catch(() => {
      if (this.listing === p) this.listing = undefined;
    });
    return p;
  }

  /**
   * What GCE's system operations say about our instances, in one call: SPOT instances it preempted
   * (and so deleted) come back as terminated with GCE's reason; a stopped instance whose guest shut
   * itself down (autostop) gets that reason, and when its label says a shutdown means down, it is
   * deleted now — GCE itself only ever stops an instance whose OS powers off.
   */
  private async systemOperations(c: Clients): Promise<Array<{ zone: string; op: Operation }>> {
    const filter = 'operationType = "compute.instances.preempted" OR operationType = "compute.instances.guestTerminate"';
    const iter = c.globalOps.aggregatedListAsync({ project: c.project, filter, maxResults: 500, returnPartialSuccess: true });
    const out: Array<{ zone: string; op: Operation }> = [];
    for await (const [scope, list] of iter) for (const op of list.operations ?? []) out.push({ zone: lastSegment(scope), op });
    return out;
  }

  private systemEvents(rows: Row[], ops: Array<{ zone: string; op: Operation }>): CloudInstance[] {
    const out: CloudInstance[] = [];
    const byName = new Map(rows.map((r) => [r.inst.id, r]));
    const doomed: string[] = [];
    {
      for (const { zone, op } of ops) {
        const name = lastSegment(op.targetLink);
        const id = `${zone}/${name}`;
        const row = byName.get(id);
        if (op.operationType === 'compute.instances.guestTerminate') {
          if (!row || row.inst.state !== 'stopped' || String(op.targetId) !== row.gceId || (row.lastStart && (op.insertTime ?? '') < row.lastStart)) continue;
          if (row.shutdown === 'delete') {
            row.inst.state = 'terminated';
            row.inst.reason = 'GCE guest shutdown (compute.instances.guestTerminate) for autostop --down, as EC2 terminates on an InstanceInitiatedShutdown: deleting the instance';
            doomed.push(id);
          } else {
            row.inst.reason = 'GCE guest shutdown (compute.instances.guestTerminate): autostop';
          }
          continue;
        }
        const m = /^(.+)-([0-9a-f]{12})-(\d+)$/.exec(name);
        if (!m || row) continue;
        out.push({
          id,
          cluster: m[1]!,
          uid: m[2]!,
          rank: Number(m[3]),
          region: zone.replace(/-[a-z]$/, ''),
          zone,
          state: 'terminated',
          reason: `GCE preempted the SPOT instance (${op.operationType}: ${op.statusMessage ?? 'Instance was preempted.'})`,
        });
      }
    }
    if (doomed.length) void this.terminate('', doomed).catch(() => undefined);
    return out;
  }

  async list(region: string, uids?: string[]): Promise<CloudInstance[]> {
    const want = uids ? new Set(uids) : undefined;
    return (await this.listAll()).map((r) => ({ ...r.inst })).filter((i) => i.region === region && (!want || want.has(i.uid)));
  }

  private async eachInstance(ids: string[], call: (c: Clients, zone: string, name: string) => Promise<Operation | null | undefined>, ignoreMissing = false): Promise<void> {
    const c = await this.clients();
    await Promise.all(
      ids.map(async (id) => {
        const [zone, name] = id.split('/') as [string, string];
        try {
          await this.waitZone(c, zone, await call(c, zone, name));
        } catch (err) {
          if (!(ignoreMissing && isStatus(err, 'NOT_FOUND'))) throw err;
        }
      }),
    );
  }

  async start(_region: string, ids: string[]): Promise<void> {
    await this.eachInstance(ids, async (c, zone, instance) => (await c.instances.start({ project: c.project, zone, instance }))[0].latestResponse as Operation);
  }

  async stop(_region: string, ids: string[]): Promise<void> {
    await this.eachInstance(ids, async (c, zone, instance) => (await c.instances.stop({ project: c.project, zone, instance }))[0].latestResponse as Operation);
  }

  async terminate(_region: string, ids: string[]): Promise<void> {
    await this.eachInstance(ids, async (c, zone, instance) => (await c.instances.delete({ project: c.project, zone, instance }))[0].latestResponse as Operation, true);
  }

  async setShutdownBehavior(_region: string, ids: string[], behavior: 'stop' | 'terminate'): Promise<void> {
    // GCE always stops an instance whose guest powers off; `terminate` is a label the listing
    // reads (the instance then counts as gone, and `down` / the daemon delete it).
    await this.eachInstance(ids, async (c, zone, instance) => {
      const [cur] = await c.instances.get({ project: c.project, zone, instance });
      const labels = { ...(cur.labels ?? {}), [LABEL_SHUTDOWN]: behavior === 'terminate' ? 'delete' : 'stop' };
      return (await c.instances.setLabels({ project: c.project, zone, instance, instancesSetLabelsRequestResource: { labels, labelFingerprint: cur.labelFingerprint } }))[0].latestResponse as Operation;
    });
  }

  // ---- firewall ----

  async openPorts(_region: string, cluster: string, uid: string, ports: string[]): Promise<void> {
    const c = await this.clients();
    const name = clusterResourceName(cluster, uid);
    const tcp = ['22', ...portRanges(ports).map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`))];
    const rule = {
      name,
      description: `aloft cluster ${cluster} (${uid}): ssh and the task's ports`,
      network: 'global/networks/default',
      direction: 'INGRESS',
      priority: 1000,
      sourceRanges: ['0.0.0.0/0'],
      targetTags: [name],
      allowed: [{ IPProtocol: 'tcp', ports: [...new Set(tcp)] }],
    };
    const want = rule.allowed[0]!.ports.join(',');
    if (this.rules.get(name) === want) return; // a failover's next zone: the rule is already there
    let existing: protos.google.cloud.compute.v1.IFirewall | undefined;
    try {
      [existing] = await c.firewalls.get({ project: c.project, firewall: name });
    } catch (err) {
      if (!isStatus(err, 'NOT_FOUND')) throw err;
    }
    if (!existing) {
      try {
        const [op] = await c.firewalls.insert({ project: c.project, firewallResource: rule });
        await this.waitGlobal(c, op.latestResponse as Operation);
        this.rules.set(name, want);
        return;
      } catch (err) {
        if (!isStatus(err, 'ALREADY_EXISTS')) throw err;
        [existing] = await c.firewalls.get({ project: c.project, firewall: name });
      }
    }
    const have = new Set((existing?.allowed ?? []).flatMap((a) => a.ports ?? []));
    if (!rule.allowed[0]!.ports.every((p) => have.has(p))) {
      const merged = [...new Set([...have, ...rule.allowed[0]!.ports])];
      const [op] = await c.firewalls.patch({ project: c.project, firewall: name, firewallResource: { allowed: [{ IPProtocol: 'tcp', ports: merged }] } });
      await this.waitGlobal(c, op.latestResponse as Operation);
    }
    this.rules.set(name, want);
  }

  async cleanup(_region: string, cluster: string, uid: string): Promise<void> {
    const c = await this.clients();
    this.rules.delete(clusterResourceName(cluster, uid));
    try {
      const [op] = await c.firewalls.delete({ project: c.project, firewall: clusterResourceName(cluster, uid) });
      await this.waitGlobal(c, op.latestResponse as Operation);
    } catch (err) {
      if (!isStatus(err, 'NOT_FOUND')) throw err;
    }
  }

  classify(err: unknown): ProvisionErrorKind | undefined {
    return classifyGce(err);
  }

  describeError(err: unknown): string {
    return describeGce(err);
  }

  close(): void {
    const p = this.clientsFor?.clients;
    this.clientsFor = undefined;
    p?.then((c) => Promise.all([c.instances.close(), c.zoneOps.close(), c.globalOps.close(), c.firewalls.close(), c.zones.close()])).catch(() => undefined);
  }
}
