// The daemon's local API, version 1: `POST /v1/rpc/<method>` with a JSON body answers JSON;
// streams are `GET /v1/stream/<name>?...` (ndjson, one object per line) and the event websocket
// `GET /v1/events?since=SEQ` (upgrade). Everything a client sends or receives is typed here.

import type {
  ClusterRecord,
  JobRecord,
  ManagedJobRecord,
  RequestRecord,
  StateEvent,
  StateSnapshot,
} from './model.js';
import type { Task } from '../spec/types.js';

export const API_VERSION = 'v1';

export interface DaemonInfo {
  version: string;
  apiVersion: string;
  pid: number;
  socket: string;
  home: string;
  startedAt: number;
  uptimeSeconds: number;
  /** infra usable here (credentials / pools present), e.g. ["local", "ssh"] */
  infra?: string[];
  /** team mode: the TCP addresses it serves, e.g. ["https://0.0.0.0:46580"] */
  listen?: string[];
  /** where its state lives: sqlite (a file in home) or postgresql (URL without password) */
  state?: { kind: 'sqlite' | 'postgresql'; location: string };
}

/** Who the caller is to the daemon (team mode: the token's user). */
export interface WhoAmI {
  user: string;
  role: 'admin' | 'user';
  /** came in over TCP with a token */
  remote: boolean;
}

export interface UserInfo {
  name: string;
  role: 'admin' | 'user';
  createdAt: number;
}

export interface TokenInfo {
  id: string;
  user: string;
  label?: string;
  createdAt: number;
  lastUsedAt?: number;
  revokedAt?: number;
}

export interface AuditRecord {
  seq: number;
  ts: number;
  user: string;
  action: string;
  target: string;
  outcome: 'ok' | 'refused' | 'failed';
  address?: string;
  error?: string;
}

export interface LaunchParams {
  task: Task;
  cluster?: string;
  /** skip setup when the cluster exists (--no-setup) */
  noSetup?: boolean;
  idleMinutes?: number;
  down?: boolean;
  dryrun?: boolean;
  retryUntilUp?: boolean;
  /** for launches made by the managed-jobs controller */
  managedJobId?: number;
  /** SKYPILOT_TASK_ID to keep across recoveries */
  taskId?: string;
  /** regions to avoid when another region can run the task (recovery strategies) */
  avoidRegions?: string[];
  /** region to try first */
  preferRegion?: string;
}

export interface ExecParams {
  cluster: string;
  task: Task;
}

export interface PlanParams {
  tasks: Task[];
  explain?: boolean;
}

/** What `describe` is about (the dashboard's `d` and `y`). */
export type DescribeTarget =
  | { kind: 'cluster'; cluster: string }
  | { kind: 'job'; cluster: string; job: number }
  | { kind: 'managed'; id: number }
  | { kind: 'request'; id: string };

/** A node of a described cluster, as the daemon knows it. */
export interface DescribedNode {
  rank: number;
  /** the address other nodes use (SKYPILOT_NODE_IPS) */
  ip: string;
  /** the node's directory: its jobs' $HOME */
  nodeDir: string;
  /** provider id: process group, instance id, pod, host */
  instanceId: string;
  status: string;
  /** where `aloft ssh --rank N` goes (ssh pools): user@host:port */
  ssh?: string;
}

/** Everything the daemon knows about one object. Never a secret value, never a token. */
export interface Description {
  target: DescribeTarget;
  cluster?: ClusterRecord;
  nodes?: DescribedNode[];
  /** the head agent's endpoint on the node (a unix socket) */
  agentEndpoint?: string;
  /** ports the cluster's task opens, as ADDRESS:PORT on the head */
  endpoints?: string[];
  /** a cluster's jobs (newest first, bounded) */
  jobs?: JobRecord[];
  job?: JobRecord;
  managed?: ManagedJobRecord;
  request?: RequestRecord;
  /** the task as submitted, each secret's value replaced by "<redacted>" */
  task?: Task | Task[];
  /** the archived copy of a job's log on this machine */
  logPath?: string;
  /** state changes that concern the object, oldest first (bounded) */
  events: StateEvent[];
}

export interface ApiMethods {
  info: { params: Record<string, never>; result: DaemonInfo };
  shutdown: { params: Record<string, never>; result: { ok: true } };
  /** starts a launch request; follow it with the `request` stream */
  launch: { params: LaunchParams; result: { requestId: string; cluster: string } };
  exec: { params: ExecParams; result: { cluster: string; jobId: number } };
  /** the optimizer's plan (what --dryrun prints); `plan` is the optimizer's JSON */
  plan: { params: PlanParams; result: { plans: unknown[]; text: string } };
  status: { params: { clusters?: string[]; refresh?: boolean }; result: { clusters: ClusterRecord[] } };
  queue: {
    params: { cluster?: string; skipFinished?: boolean; all?: boolean };
    result: { jobs: JobRecord[] };
  };
  cancel: { params: { cluster: string; jobIds?: number[]; all?: boolean }; result: { cancelled: number[] } };
  stop: { params: { clusters: string[] }; result: { requestIds: string[] } };
  start: { params: { clusters: string[]; idleMinutes?: number; down?: boolean }; result: { requestIds: string[] } };
  /** purge: forget a cluster whose teardown fails (SkyPilot's `down --purge`) */
  /** `all`: the caller's clusters; with `allUsers` (admins) everyone's */
  down: { params: { clusters?: string[]; all?: boolean; allUsers?: boolean; purge?: boolean }; result: { requestIds: string[]; clusters: string[] } };
  autostop: {
    params: { clusters: string[]; idleMinutes?: number; down?: boolean; cancel?: boolean };
    result: { clusters: ClusterRecord[] };
  };
  requests: { params: { all?: boolean }; result: { requests: RequestRecord[] } };
  jobsLaunch: {
    params: { task: Task; tasks?: Task[]; name?: string; strategy?: 'EAGER_NEXT_REGION' | 'FAILOVER' };
    result: { job: ManagedJobRecord };
  };
  jobsQueue: { params: { skipFinished?: boolean; all?: boolean }; result: { jobs: ManagedJobRecord[] } };
  jobsCancel: { params: { ids?: number[]; name?: string; all?: boolean; allUsers?: boolean }; result: { cancelled: number[] } };
  /** kills a local spot cluster's nodes abruptly, the way a cloud reclaims a spot instance */
  preempt: { params: { cluster: string }; result: { ok: true } };
  /** where `aloft ssh` should go: a node's address and home */
  nodeTarget: { params: { cluster: string; rank?: number }; result: NodeTarget };
  /** node addresses in rank order (the head first) */
  nodeIps: { params: { cluster: string }; result: { ips: string[] } };
  snapshot: { params: Record<string, never>; result: StateSnapshot };
  /** read-only: everything known about a cluster, job, managed job or request */
  describe: { params: DescribeTarget; result: Description };
  // team mode (users, tokens and the audit log are admin-only, except whoami)
  whoami: { params: Record<string, never>; result: WhoAmI };
  usersAdd: { params: { name: string; role?: 'admin' | 'user' }; result: { user: UserInfo } };
  usersList: { params: Record<string, never>; result: { users: UserInfo[] } };
  usersRemove: { params: { name: string }; result: { ok: true } };
  /** the token itself is in this answer only, never stored */
  tokensCreate: { params: { user: string; label?: string }; result: { id: string; token: string } };
  tokensList: { params: Record<string, never>; result: { tokens: TokenInfo[] } };
  tokensRevoke: { params: { id: string }; result: { ok: true } };
  audit: { params: { limit?: number }; result: { entries: AuditRecord[] } };
}

export type ApiMethod = keyof ApiMethods;

/** Items of `GET /v1/stream/request?id=ID`: stage progress, then one final item. */
export type RequestStreamItem =
  | { type: 'stage'; stage: string; message?: string; ts: number }
  | { type: 'progress'; message: string; ts: number }
  | { type: 'done'; request: RequestRecord };

/** Items of `GET /v1/stream/logs?cluster=C&job=J&follow=1&tail=N&rank=R`. */
export type LogStreamItem =
  | { type: 'text'; text: string }
  | { type: 'end'; job: JobRecord | null; archived?: boolean };

/** Messages on the event websocket. */
export type EventStreamMessage =
  | { type: 'snapshot'; snapshot: StateSnapshot }
  | { type: 'event'; event: StateEvent };

export type NodeTarget =
  | { kind: 'local'; home: string; env: Record<string, string> }
  | { kind: 'ssh'; host: string; port: number; user: string; identityFile?: string; home: string; env?: Record<string, string> };

/** Error body for a non-2xx answer. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}
