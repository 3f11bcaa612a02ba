// Records shared by the daemon, the CLI, the TUI and the agents. These are the `-o json` shapes
// too, so fields are only ever added, never renamed.

export type ClusterStatus = 'INIT' | 'UP' | 'STOPPED' | 'TERMINATED';

export const JOB_STATUSES = [
  'INIT',
  'PENDING',
  'SETTING_UP',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'FAILED_SETUP',
  'FAILED_DRIVER',
  'CANCELLED',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_JOB_STATUSES: ReadonlySet<JobStatus> = new Set([
  'SUCCEEDED',
  'FAILED',
  'FAILED_SETUP',
  'FAILED_DRIVER',
  'CANCELLED',
]);
export const ACTIVE_JOB_STATUSES: ReadonlySet<JobStatus> = new Set(['INIT', 'PENDING', 'SETTING_UP', 'RUNNING']);

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
  | 'notice';

export const MANAGED_JOB_STATUSES = [
  'PENDING',
  'STARTING',
  'RUNNING',
  'RECOVERING',
  'CANCELLING',
  'SUCCEEDED',
  'CANCELLED',
  'FAILED',
  'FAILED_SETUP',
  'FAILED_NO_RESOURCE',
  'FAILED_CONTROLLER',
] as const;
export type ManagedJobStatus = (typeof MANAGED_JOB_STATUSES)[number];

export const TERMINAL_MANAGED_STATUSES: ReadonlySet<ManagedJobStatus> = new Set([
  'SUCCEEDED',
  'CANCELLED',
  'FAILED',
  'FAILED_SETUP',
  'FAILED_NO_RESOURCE',
  'FAILED_CONTROLLER',
]);

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
  /** recent timeline, oldest first */
  events: StateEvent[];
}
