// What a VM cloud implements for the shared base (provider.ts): a handful of calls on its own
// API, in its own SDK. Everything after the VM answers ssh — agent upload, workdir tar stream,
// agent start — is the base's, through the ssh provider's transport.
import type { ProvisionErrorKind } from '../types.js';

export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

/** Tags (AWS) / labels (GCP) on every instance aloft creates: how status, restarts and down find ours. */
export const TAG_CLUSTER = 'aloft-cluster';
export const TAG_UID = 'aloft-cluster-uid';
export const TAG_RANK = 'aloft-rank';

/** The tags of one node (label-safe on every cloud: lowercase keys and values). */
export function nodeTags(cluster: string, uid: string, rank: number): Record<string, string> {
  return { [TAG_CLUSTER]: cluster, [TAG_UID]: uid, [TAG_RANK]: String(rank) };
}

/** Name of per-cluster cloud resources (security group, firewall rule): aloft-<cluster>-<uid>. */
export function clusterResourceName(cluster: string, uid: string): string {
  return `aloft-${cluster}-${uid}`;
}

/** An instance of ours as the cloud reports it (from its tags/labels and state). */
export interface CloudInstance {
  id: string;
  cluster: string;
  uid: string;
  rank: number;
  region: string;
  zone?: string;
  state: InstanceState;
  /** internal address: SKYPILOT_NODE_IPS, head ↔ worker traffic */
  privateIp?: string;
  /** where aloft connects over ssh (the private address when there is none) */
  publicIp?: string;
  /** the cloud's own words for a stop or termination, e.g. "Server.SpotInstanceTermination: …" */
  reason?: string;
}

/** One launch: `ranks` of a cluster, all in one zone. */
export interface LaunchSpec {
  cluster: string;
  uid: string;
  region: string;
  zone?: string;
  ranks: number[];
  instanceType: string;
  /** the accelerator chosen with the instance type (GCP attaches N1 GPUs to the VM; AWS types include theirs) */
  accelerator?: { name: string; count: number };
  useSpot: boolean;
  /** GB of the boot disk */
  diskSizeGb: number;
  /** low | medium | high | ultra | best (SkyPilot's disk_tier) */
  diskTier?: string;
  /** the image for this region, when the task names one (`image_id`); else the cloud's default */
  imageId?: string;
  /** task ports (ssh is always open), e.g. ["8080", "9000-9010"] */
  ports: string[];
  /** the task's `labels`, added to ours */
  labels: Record<string, string>;
  /** OpenSSH public key line the login user accepts */
  publicKey: string;
  /** the login user the base connects as (ALOFT_<CLOUD>_SSH_USER, else the driver's default) */
  sshUser: string;
  /** cloud-init user-data (bootstrap.ts) */
  userData: string;
  /** what an OS-level shutdown of the VM does (autostop from the head, see provider.ts) */
  shutdownBehavior: 'stop' | 'terminate';
  onProgress?: (m: string) => void;
}

export interface CloudDriver {
  readonly cloud: string;
  /** the login user of the default image (ALOFT_<CLOUD>_SSH_USER overrides it, for other images) */
  readonly defaultSshUser: string;
  /** one-time spot instances cannot be stopped (AWS); the base refuses `stop` for them */
  readonly spotStoppable: boolean;
  /** create() that throws has left nothing behind (EC2's RunInstances: all instances or none) */
  readonly atomicCreate?: boolean;
  /** loads the SDK ahead of the first call (the daemon does it after start when credentials exist) */
  warm?(): Promise<void>;
  /** whether credentials exist here (no network): the same answer as `aloft check` without a probe */
  credentials(): { ok: boolean; reason: string };
  /** one cheap authenticated call; resolves with a short description, throws with why not */
  ping(timeoutMs: number): Promise<string>;
  /** creates the instances of `spec.ranks` (or throws the cloud's own error, untouched) */
  create(spec: LaunchSpec): Promise<CloudInstance[]>;
  /** our instances in `region` (of these cluster uids; all of ours when undefined): ONE call per region */
  list(region: string, uids?: string[]): Promise<CloudInstance[]>;
  start(region: string, ids: string[]): Promise<void>;
  stop(region: string, ids: string[]): Promise<void>;
  terminate(region: string, ids: string[]): Promise<void>;
  /** opens `ports` (plus ssh) to the cluster's instances; called for a relaunch with new ports */
  openPorts(region: string, cluster: string, uid: string, ports: string[]): Promise<void>;
  /** removes what is left of a cluster besides its instances (security group, firewall rules) */
  cleanup(region: string, cluster: string, uid: string): Promise<void>;
  /** changes what an OS shutdown does on these instances (autostop stop vs down) */
  setShutdownBehavior(region: string, ids: string[], behavior: 'stop' | 'terminate'): Promise<void>;
  /**
   * The failover kind of a cloud error (capacity → zone blocked, quota → region, credentials →
   * the cloud), or undefined when it is not one the failover loop should move on from.
   */
  classify(err: unknown): ProvisionErrorKind | undefined;
  /** the cloud's error code and message in one line, e.g. "InsufficientInstanceCapacity: We currently…" */
  describeError(err: unknown): string;
  close?(): void;
}

/** Parses task ports ("8080", "9000-9010", 8080) into ranges. */
export function portRanges(ports: Array<string | number>): Array<{ from: number; to: number }> {
  const out: Array<{ from: number; to: number }> = [];
  for (const p of ports) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(String(p).trim());
    if (!m) throw new Error(`invalid port '${p}': use a number or a range like 9000-9010`);
    const from = Number(m[1]);
    const to = m[2] ? Number(m[2]) : from;
    if (from < 1 || to > 65535 || to < from) throw new Error(`invalid port range '${p}'`);
    out.push({ from, to });
  }
  return out;
}
