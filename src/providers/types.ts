// One interface for every infra (SkyPilot's provisioner verbs) and one transport interface that
// carries the agent protocol and file uploads to a node, whatever the node is.

import type { Duplex, Readable } from 'node:stream';
import type { NodeResources } from '../protocol/model.js';
import type { ResourcesSpec } from '../spec/types.js';
import type { NodeTarget } from '../protocol/api.js';

export interface ExecOptions {
  /** data for the command's stdin; the stream is ended after it */
  stdin?: string | Buffer | Readable;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** extra environment variables for the command */
  env?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** How the daemon (and a head agent) reaches one node. */
export interface Transport {
  /** Runs `command` with bash on the node, in the node's home directory. */
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Extracts a tar stream into `destDir` (relative to the node's home, or absolute) on the node. */
  upload(tar: Readable, destDir: string): Promise<void>;
  /**
   * Makes an absolute directory the node's own where nodes have a filesystem of their own (an
   * isolated local node: on disk in the node's directory, not in its in-memory root). Without it
   * the directory is simply created on the node (the bucket-mount scripts do that).
   */
  ownDir?(dir: string): Promise<void>;
  /** Opens a byte stream to a unix socket on the node. */
  connect(socketPath: string): Promise<Duplex>;
  /** Frees connections; the node itself is untouched. */
  close(): void;
}

export interface ProviderCapabilities {
  stop: boolean;
  spot: boolean;
  multiNode: boolean;
  openPorts: boolean;
  /** nodes can be preempted by the provider (cloud spot, or local spot emulation) */
  preemptible: boolean;
  /** provider has interactive sessions that keep a cluster busy (ssh) */
  sessions: boolean;
  /**
   * nodes are machines of their own (cloud VMs): when autostop fires, the head agent powers
   * them off itself, so autostop holds while the daemon is away (docs/ARCHITECTURE.md § Clouds)
   */
  powerOffOnAutostop?: boolean;
}

/** A node as the provider reports it. */
export interface NodeInfo {
  rank: number;
  /** address other nodes use (SKYPILOT_NODE_IPS) */
  ip: string;
  /** absolute path of the node's home / runtime directory on the node */
  home: string;
  /** provider-specific id (pid group, instance id, pod name, host) */
  instanceId: string;
  status: 'pending' | 'running' | 'stopped' | 'terminated';
  /** the provider's reason for a stopped or terminated node (e.g. a cloud's spot termination code) */
  reason?: string;
}

export interface ClusterInfo {
  cluster: string;
  nodes: NodeInfo[];
  region?: string;
  zone?: string;
}

export interface ProvisionRequest {
  cluster: string;
  clusterUid: string;
  numNodes: number;
  resources: ResourcesSpec;
  region?: string;
  zone?: string;
  instanceType?: string;
  /** the task's `config:` overrides (e.g. `kubernetes: {pod_config: ...}`), as given */
  config?: Record<string, unknown>;
  /** called with progress lines while provisioning */
  onProgress?: (message: string) => void;
}

/** What one node (pod) of a task asks for; unset fields take the provider's defaults. */
export interface PodDemand {
  cpus?: number;
  memoryGiB?: number;
  /** canonical accelerator name, when the task names one */
  accelerator?: string;
  gpus?: number;
}

/** Live offering of an infra that has no catalog (local, ssh pools, kubernetes contexts). */
export interface LiveOffering {
  cloud: string;
  region: string;
  zone?: string;
  resources: NodeResources;
  /** how many nodes of this shape are available right now */
  available: number;
  /**
   * Where nodes are shares of bigger machines (kubernetes pods packed onto cluster nodes): those
   * machines' free room, from which the planner counts how many nodes of exactly a demand fit
   * now (optimizer/pod-fit.ts); replaces `available` in the planner's check.
   */
  fitNodes?: import('../optimizer/pod-fit.js').FitNode[];
}

export interface Provider {
  readonly name: string;
  readonly capabilities: ProviderCapabilities;
  /** Is this infra usable here, and if not, why. */
  check(): Promise<{ ok: boolean; reason?: string }>;
  /** Loads what the first real call would (a cloud SDK), so the first launch does not wait for it. */
  warm?(): Promise<void>;
  liveOfferings?(): Promise<LiveOffering[]>;
  /**
   * The same, plus per target (an ssh pool, a kubernetes context) why it cannot take a cluster
   * now. `named`: targets a task names explicitly, offered even when not in the default set.
   */
  liveOfferingsWithProblems?(opts?: { named?: string[] }): Promise<{ offerings: LiveOffering[]; problems: Map<string, string[]> }>;
  /** Failover order of targets (regions) when the planner sees no price difference (allowed_contexts). */
  targetOrder?(): string[];

  /** Creates (or resumes stopped) nodes; idempotent for an existing cluster. */
  runInstances(req: ProvisionRequest): Promise<ClusterInfo>;
  waitInstances(cluster: string, state: 'running' | 'stopped' | 'terminated', timeoutMs?: number): Promise<void>;
  queryInstances(cluster: string): Promise<ClusterInfo | undefined>;
  /** The same for many clusters at once, batched (one API call per region): `status -r`. */
  queryClusters?(clusters: string[]): Promise<Map<string, ClusterInfo | undefined>>;
  /** Tells the nodes what autostop means for them (a cloud: what an OS shutdown does). */
  setAutostop?(cluster: string, setting: { idleMinutes: number; down: boolean } | undefined): Promise<void>;
  stopInstances(cluster: string): Promise<void>;
  /**
   * Kills every process of the cluster on its nodes that still run, keeping the nodes (repairing a
   * broken cluster before `start`); providers without it are stopped instead.
   */
  sweepInstances?(cluster: string): Promise<void>;
  /** Throws (a UserError saying why) when this cluster cannot be stopped, before anything is touched. */
  checkStop?(cluster: string): Promise<void>;
  terminateInstances(cluster: string): Promise<void>;
  /** Drops this provider's own records of a cluster without touching its nodes (`down --purge`). */
  forgetInstances?(cluster: string): Promise<void>;
  getClusterInfo(cluster: string): Promise<ClusterInfo>;

  transport(cluster: string, node: NodeInfo): Transport;
  /** Detects cores, memory and GPUs of a node. */
  detectResources(t: Transport, node: NodeInfo): Promise<NodeResources>;
  /** Absolute path of the agent bundle on the node, after making sure it is there. */
  ensureAgent(t: Transport, node: NodeInfo, localBundle: string): Promise<string>;

  /**
   * Refuses (a UserError, one line) a file-mount destination this infra cannot honour; `cluster`
   * when the cluster exists. Without it, any destination is accepted.
   */
  checkMountDestination?(dest: string, cluster?: string): Promise<void>;

  openPorts?(cluster: string, ports: string[]): Promise<void>;
  cleanupPorts?(cluster: string): Promise<void>;

  /** Where `aloft ssh` goes for a node; providers without one get a shell in the node's directory. */
  sessionTarget?(cluster: string, node: NodeInfo): NodeTarget;
  /** The `node` the agent runs with on this provider's nodes (default: `node` on PATH). */
  readonly nodeBinary?: string;
  /**
   * The address a node of this cluster uses for a URL this machine uses (a store's endpoint, a
   * git remote the daemon hands a node): a local node with its own network reaches this machine's
   * 127.0.0.1 elsewhere. Without it the URL is unchanged (ssh hosts, pods and VMs are other
   * machines: this machine's loopback is not theirs to reach at any address).
   */
  nodeUrl?(cluster: string, url: string): string;
  /** port → "host:port" where the cluster's `ports:` answer; default: the head node's IP. */
  endpoints?(cluster: string): Promise<Record<number, string>>;
  /** Reports nodes the provider saw go away (a deleted or evicted pod) with a one-line reason. */
  onNodeLost?(listener: (cluster: string, reason: string) => void): void;
  /** Why a named pool / region cannot take a cluster now (one line), for planning errors. */
  poolProblems?(pool: string): Promise<string | undefined>;
}

export type ProvisionErrorKind = 'capacity' | 'quota' | 'credentials' | 'other';

/** A provisioning failure the failover loop understands (the place is blocked and the next tried). */
export class ProvisionError extends Error {
  constructor(
    message: string,
    readonly kind: ProvisionErrorKind,
  ) {
    super(message);
    this.name = 'ProvisionError';
  }
}

/** Classifies any provider error: cloud SDK error names and messages map to a kind. */
export function classifyProvisionError(err: unknown): ProvisionErrorKind {
  if (err instanceof ProvisionError) return err.kind;
  const text = `${(err as Error)?.name ?? ''} ${(err as Error)?.message ?? String(err)}`;
  if (/quota|LimitExceeded|limit exceeded|VcpuLimitExceeded/i.test(text)) return 'quota';
  if (/InsufficientInstanceCapacity|ZONE_RESOURCE_POOL_EXHAUSTED|capacity|no free host|stockout|SpotMaxPriceTooLow|Unsupported.*zone/i.test(text)) return 'capacity';
  if (/credential|Unauthorized|AuthFailure|permission denied|not authorized|InvalidClientTokenId/i.test(text)) return 'credentials';
  return 'other';
}
