// Records shared by the daemon, the CLI, the TUI and the agents. These are the `-o json` shapes
// too, so fields are only ever added, never renamed.

export type ClusterStatus = 'INIT' | 'UP' | 'STOPPED' | 'TERMINATED';

// A job is active or terminal; each status is listed once, in lifecycle order.
const ACTIVE_JOB = ['INIT', 'PENDING', 'SETTING_UP', 'RUNNING'] as const;
const TERMINAL_JOB = ['SUCCEEDED', 'FAILED', 'FAILED_SETUP', 'FAILED_DRIVER', 'CANCELLED'] as const;
export const JOB_STATUSES = [...ACTIVE_JOB, ...TERMINAL_JOB] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_JOB_STATUSES: ReadonlySet<JobStatus> = new Set(TERMINAL_JOB);
export const ACTIVE_JOB_STATUSES: ReadonlySet<JobStatus> = new Set(ACTIVE_JOB);

export function isTerminalJob(s: JobStatus): boolean {
  return TERMINAL_JOB_STATUSES.has(s);
}

/** Resources of one node as detected on it. */
export interface NodeResources {
  cpus: number;
  memoryGiB: number;
  /** e.g. { A100: 8 } */
  accelerators: Record<string, number>;
}

/** What one job asks of each node it runs on. */
export interface JobDemand {
  cpus: number;
  gpus: number;
  /** accelerator name when the task asked for a specific one */
  accelerator?: string;
}

export interface AutostopSetting {
  idleMinutes: number;
  down: boolean;
}

export interface ClusterRecord {
  name: string;
  status: ClusterStatus;
  /** local | ssh | kubernetes | aws | gcp */
  cloud: string;
  region?: string;
  zone?: string;
  /** e.g. "local", "aws/us-east-1/us-east-1a", "ssh/mypool" */
  infra: string;
  numNodes: number;
  instanceType?: string;
  /** human summary such as "2x(cpus=8, mem=32GiB, A100:1)" */
  resources: string;
  nodeResources?: NodeResources;
  useSpot: boolean;
  hourlyPrice: number;
  autostop?: AutostopSetting;
  launchedAt: number;
  updatedAt: number;
  lastJobId?: number;
  /** why the cluster is INIT/unhealthy, or what the last failure was */
  statusReason?: string;
  /** unique id of this incarnation of the cluster (a name can be reused after down) */
  uid: string;
  /** who launched it (team mode: the token's user; else the daemon's OS user) */
  user?: string;
}

export interface JobRecord {
  cluster: string;
  clusterUid: string;
  id: number;
  name?: string;
  status: JobStatus;
  numNodes: number;
  demand: JobDemand;
  /** human summary, e.g. "1x[CPU:0.5]" */
  resources: string;
  submittedAt: number;
  startedAt?: number;
  endedAt?: number;
  exitCode?: number;
  /** rank that failed first, for gang jobs */
  failedRank?: number;
  /** every rank's exit code in rank order (null: its process was lost), for a gang job that failed */
  returnCodes?: Array<number | null>;
  /** why the job ended when its own code cannot say (e.g. its spot nodes were preempted) */
  endReason?: string;
  taskId: string;
  /** names of the secrets given (values never leave the node) */
  secretNames?: string[];
  /** who submitted it */
  user?: string;
  /** the launch request (or exec call) that submitted it; a retry of that call finds this job */
  requestId?: string;
}

export type RequestKind = 'launch' | 'start' | 'stop' | 'down' | 'exec';

export type StorageStatus = 'INIT' | 'UPLOADING' | 'READY' | 'UPLOAD_FAILED' | 'DELETE_FAILED';

/** A bucket aloft created for a task (`aloft storage ls`). */
export interface StorageRecord {
  name: string;
  /** s3, gcs, r2, ... */
  store: string;
  /** s3://name, gs://name */
  url: string;
  /** the local paths uploaded into it, if any */
  source?: string;
  status: StorageStatus;
  /** kept when the clusters using it go down */
  persistent: boolean;
  createdAt: number;
  updatedAt: number;
  /** clusters that mount or copy it now */
  clusters: string[];
  statusReason?: string;
}
export type RequestStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** Launch pipeline stages, in order (SkyPilot's names where it has them). */
export const LAUNCH_STAGES = [
  'OPTIMIZE',
  'PROVISION',
  'START_AGENTS',
  'SYNC_WORKDIR',
  'SYNC_FILE_MOUNTS',
  'SETUP',
  'EXEC',
] as const;
export type LaunchStage = (typeof LAUNCH_STAGES)[number];

export interface RequestRecord {
  id: string;
  kind: RequestKind;
  cluster: string;
  status: RequestStatus;
  stage?: string;
  stageStartedAt?: number;
  createdAt: number;
  finishedAt?: number;
  error?: string;
  /** e.g. job id for a launch that submitted a job */
  jobId?: number;
  /** the launch created the cluster (so an interrupted launch tears it down) */
  createdCluster?: boolean;
  /** who asked for it */
  user?: string;
  /** provisioning attempts that failed over, one line each: "gcp/us-central1/us-central1-a: capacity error (…)" */
  attempts?: string[];
}

export type EventKind =
  | 'cluster'
  | 'cluster-removed'
  | 'job'
  | 'request'
  | 'managed'
  | 'service'
  | 'service-removed'
  | 'notice';

// Live statuses, then terminal ones (each listed once).
const LIVE_MANAGED = ['PENDING', 'STARTING', 'RUNNING', 'RECOVERING', 'CANCELLING'] as const;
const TERMINAL_MANAGED = ['SUCCEEDED', 'CANCELLED', 'FAILED', 'FAILED_SETUP', 'FAILED_NO_RESOURCE', 'FAILED_CONTROLLER'] as const;
export const MANAGED_JOB_STATUSES = [...LIVE_MANAGED, ...TERMINAL_MANAGED] as const;
export type ManagedJobStatus = (typeof MANAGED_JOB_STATUSES)[number];

export const TERMINAL_MANAGED_STATUSES: ReadonlySet<ManagedJobStatus> = new Set(TERMINAL_MANAGED);

/** One attempt of a managed job on one cluster (a recovery starts a new attempt). */
export interface ManagedAttempt {
  cluster: string;
  clusterUid?: string;
  jobId?: number;
  region?: string;
  startedAt: number;
  endedAt?: number;
  /** why the attempt ended: preempted, failed (exit N), succeeded, cancelled */
  outcome?: string;
  /** index of the pipeline task this attempt ran */
  task?: number;
}

/** A managed job: survives preemptions and failures by moving between clusters. */
export interface ManagedJobRecord {
  id: number;
  name?: string;
  status: ManagedJobStatus;
  resources: string;
  submittedAt: number;
  /** first time it reached RUNNING */
  startedAt?: number;
  endedAt?: number;
  /** time spent RUNNING, over all attempts (ms) */
  jobDurationMs: number;
  runningSince?: number;
  recoveries: number;
  restartsOnErrors: number;
  strategy: 'EAGER_NEXT_REGION' | 'FAILOVER';
  maxRestartsOnErrors: number;
  recoverOnExitCodes: number[];
  /** current cluster */
  cluster?: string;
  taskId: string;
  attempts: ManagedAttempt[];
  blockedRegions: string[];
  failureReason?: string;
  useSpot: boolean;
  /** pipelines (multi-document YAML): how many tasks, and which one runs now (0-based) */
  numTasks?: number;
  taskIndex?: number;
  /** names of the pipeline's tasks, in order */
  taskNames?: string[];
  /** who launched it */
  user?: string;
}

/** A change in the daemon's state, numbered by `seq` (strictly increasing, no gaps). */
export interface StateEvent {
  seq: number;
  ts: number;
  kind: EventKind;
  cluster?: ClusterRecord;
  /** for cluster-removed */
  name?: string;
  job?: JobRecord;
  request?: RequestRecord;
  managed?: ManagedJobRecord;
  service?: ServiceRecord;
  /** for notice: a line for timelines (autostop fired, agent lost, ...) */
  message?: string;
  level?: 'info' | 'warn' | 'error';
}

export interface StateSnapshot {
  seq: number;
  clusters: ClusterRecord[];
  /** jobs of clusters that exist, newest first, bounded */
  jobs: JobRecord[];
  requests: RequestRecord[];
  /** managed jobs, newest first, bounded */
  managed?: ManagedJobRecord[];
  /** services (SkyServe), by name */
  services?: ServiceRecord[];
  /** recent timeline, oldest first */
  events: StateEvent[];
}

// ---- services (SkyServe): sky/serve/serve_state.py's statuses ----

export const SERVICE_STATUSES = [
  'CONTROLLER_INIT',
  'REPLICA_INIT',
  'CONTROLLER_FAILED',
  'READY',
  'SHUTTING_DOWN',
  'FAILED',
  'FAILED_CLEANUP',
  'NO_REPLICA',
] as const;
export type ServiceStatus = (typeof SERVICE_STATUSES)[number];

// The ways a replica fails to come up or stay up (each listed once; UNKNOWN counts as failed too).
const REPLICA_FAILURES = ['FAILED', 'FAILED_INITIAL_DELAY', 'FAILED_PROBING', 'FAILED_PROVISION', 'FAILED_CLEANUP'] as const;
export const REPLICA_STATUSES = ['PENDING', 'PROVISIONING', 'STARTING', 'READY', 'NOT_READY', 'SHUTTING_DOWN', ...REPLICA_FAILURES, 'PREEMPTED', 'UNKNOWN'] as const;
export type ReplicaStatus = (typeof REPLICA_STATUSES)[number];

/** A replica that ended badly; it stays listed (bounded) so `serve status` says what happened. */
export const FAILED_REPLICA_STATUSES: ReadonlySet<ReplicaStatus> = new Set([...REPLICA_FAILURES, 'UNKNOWN']);
/** Gone or going: not counted towards the autoscaler's target. */
export const TERMINAL_REPLICA_STATUSES: ReadonlySet<ReplicaStatus> = new Set([...FAILED_REPLICA_STATUSES, 'SHUTTING_DOWN', 'PREEMPTED']);

export type UpdateMode = 'rolling' | 'blue_green';

/** One replica of a service: a cluster launched through the ordinary pipeline. */
export interface ReplicaRecord {
  id: number;
  /** the service version whose task it runs */
  version: number;
  status: ReplicaStatus;
  /** `SERVICE-ID`, as SkyServe names replica clusters */
  cluster: string;
  clusterUid?: string;
  jobId?: number;
  /** where the load balancer sends requests: http://NODE_IP:PORT */
  url?: string;
  useSpot: boolean;
  infra?: string;
  region?: string;
  resources?: string;
  /** the first accelerator of its nodes (per-accelerator targets, instance_aware_least_load) */
  accelerator?: string;
  /** when the replica was created (LAUNCHED) */
  launchedAt: number;
  /** provisioning done: the initial delay counts from here */
  startingAt?: number;
  /** first probe that passed */
  readyAt?: number;
  /** first failing probe of the current streak, once it had been ready */
  notReadySince?: number;
  /** why it failed, or what its last probe said */
  statusReason?: string;
  /** SHUTTING_DOWN: what it ends as (a failure stays listed; a scale-down or preemption is removed) */
  endAs?: ReplicaStatus;
  /** SHUTTING_DOWN: stop sending it requests, wait for those in flight until then (ms), then tear down */
  drainUntil?: number;
  endedAt?: number;
}

/** One version of a service (`serve up` is 1; each `serve update` adds one). */
export interface ServiceVersionInfo {
  version: number;
  createdAt: number;
  mode?: UpdateMode;
  minReplicas: number;
  /** its replicas are the same task as the previous version's (only `service:` changed): kept, not relaunched */
  reusedReplicas?: boolean;
}

export interface AutoscalerState {
  /** replicas the autoscaler wants now (before overprovisioning) */
  target: number;
  /** since when the measured load asks for more (upscale delay) / fewer (downscale delay) */
  upSince?: number;
  downSince?: number;
  /** the newest version that ever had a READY replica (a version that never did and fails stops scaling) */
  latestEverReady: number;
  /** launches that failed in a row: the next waits (backoff) */
  launchFailures: number;
  nextLaunchAt?: number;
}

export interface ServiceMetrics {
  /** requests per second over the autoscaler's window */
  qps: number;
  /** time to response headers through the load balancer, over the last minute */
  p50Ms?: number;
  p99Ms?: number;
  inflight: number;
  at: number;
}

export interface ServiceRecord {
  name: string;
  /** who ran `serve up` (team mode: only they or an admin may update or tear it down) */
  user?: string;
  status: ServiceStatus;
  statusReason?: string;
  createdAt: number;
  /** since the first replica became READY (UPTIME) */
  uptimeSince?: number;
  /** the latest version */
  version: number;
  versions: ServiceVersionInfo[];
  /** versions the load balancer sends traffic to */
  activeVersions: number[];
  updateMode: UpdateMode;
  /** the load balancer's port on this machine */
  port?: number;
  endpoint?: string;
  /** the port replicas serve on */
  replicaPort: number;
  /** as configured (the default spelled out) */
  loadBalancingPolicy: string;
  /** SkyServe's AUTOSCALING_POLICY column */
  policy: string;
  /** REQUESTED_RESOURCES: one replica's resources */
  requestedResources: string;
  tls: boolean;
  replicas: ReplicaRecord[];
  nextReplicaId: number;
  autoscaler: AutoscalerState;
  metrics?: ServiceMetrics;
  /** the load balancer process */
  lbPid?: number;
  /** SHUTTING_DOWN: forget replicas whose teardown fails (`serve down --purge`) */
  purge?: boolean;
}
