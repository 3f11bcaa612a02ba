// The daemon's local API, version 1: `POST /v1/rpc/<method>` with a JSON body answers JSON;
// streams are `GET /v1/stream/<name>?...` (ndjson, one object per line) and the event websocket
// `GET /v1/events?since=SEQ` (upgrade). Everything a client sends or receives is typed here; what
// it sends is defined by the schemas of schemas.ts (checked by the daemon before it acts: a call
// that does not fit them is answered 400, naming the field).

import type {
  ClusterRecord,
  JobRecord,
  ManagedJobRecord,
  RequestRecord,
  ServiceRecord,
  StateEvent,
  StateSnapshot,
  StorageRecord,
} from './model.js';
import type { z } from 'zod';
import type { ApiParamSchemas } from './schemas.js';
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
  /** the aloft settings it read from its environment at start (util/env.ts DAEMON_SETTINGS) */
  settings?: Record<string, string>;
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

/** The parameters of `method`, as its schema in schemas.ts defines them (the daemon checks them). */
type Params<M extends keyof ApiParamSchemas> = z.infer<ApiParamSchemas[M]>;

export type LaunchParams = Params<'launch'>;
export type ExecParams = Params<'exec'>;
export type PlanParams = Params<'plan'>;

/** What `describe` is about (the dashboard's `d` and `y`). */
export type DescribeTarget = Params<'describe'>;

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

/** Every method: its parameters (from schemas.ts) and what it answers. */
export interface ApiMethods {
  info: { params: Params<'info'>; result: DaemonInfo };
  shutdown: { params: Params<'shutdown'>; result: { ok: true } };
  /** starts a launch request; follow it with the `request` stream */
  launch: { params: LaunchParams; result: { requestId: string; cluster: string } };
  /** warnings: files skipped or changed while the workdir was packed (as `tar` warns) */
  exec: { params: ExecParams; result: { cluster: string; jobId: number; warnings?: string[] } };
  /** the optimizer's plan (what --dryrun prints); `plan` is the optimizer's JSON */
  plan: { params: PlanParams; result: { plans: unknown[]; text: string } };
  status: { params: Params<'status'>; result: { clusters: ClusterRecord[] } };
  queue: { params: Params<'queue'>; result: { jobs: JobRecord[] } };
  cancel: { params: Params<'cancel'>; result: { cancelled: number[] } };
  /** `clusters`: the ones acted on (a request each, in order); `missing`: names that do not exist */
  stop: { params: Params<'stop'>; result: { requestIds: string[]; clusters?: string[]; missing?: string[] } };
  start: { params: Params<'start'>; result: { requestIds: string[]; clusters?: string[]; missing?: string[] } };
  /** `all`: the caller's clusters; with `allUsers` (admins) everyone's */
  down: { params: Params<'down'>; result: { requestIds: string[]; clusters: string[]; missing?: string[] } };
  autostop: { params: Params<'autostop'>; result: { clusters: ClusterRecord[] } };
  requests: { params: Params<'requests'>; result: { requests: RequestRecord[] } };
  /** asks a running request (a launch) to stop and undo what it created; answers the request as it is */
  requestCancel: { params: Params<'requestCancel'>; result: { request: RequestRecord } };
  jobsLaunch: { params: Params<'jobsLaunch'>; result: { job: ManagedJobRecord } };
  jobsQueue: { params: Params<'jobsQueue'>; result: { jobs: ManagedJobRecord[] } };
  jobsCancel: { params: Params<'jobsCancel'>; result: { cancelled: number[] } };
  preempt: { params: Params<'preempt'>; result: { ok: true } };
  nodeTarget: { params: Params<'nodeTarget'>; result: NodeTarget };
  nodeIps: { params: Params<'nodeIps'>; result: { ips: string[] } };
  /** where the cluster's `ports:` answer: port → "host:port" (one port with `port`) */
  endpoints: { params: Params<'endpoints'>; result: { endpoints: Record<string, string> } };
  snapshot: { params: Params<'snapshot'>; result: StateSnapshot };
  /** `serve up`: the service's record; its controller starts the load balancer and replicas */
  serveUp: { params: Params<'serveUp'>; result: { service: ServiceRecord } };
  /** `serve update`: a new version; `reused`: only `service:` changed, the replicas stay */
  serveUpdate: { params: Params<'serveUpdate'>; result: { service: ServiceRecord; reused: boolean } };
  serveStatus: { params: Params<'serveStatus'>; result: { services: ServiceRecord[] } };
  serveDown: { params: Params<'serveDown'>; result: { services: string[]; missing: string[] } };
  /** read-only: everything known about a cluster, job, managed job or request */
  describe: { params: DescribeTarget; result: Description };
  /** per cluster incarnation (live and torn down): billed hours × the catalog's $/hr (`sky cost-report`) */
  costReport: { params: Params<'costReport'>; result: { rows: CostReportRow[]; total: number } };
  /** buckets aloft created (`aloft storage ls`) */
  storageLs: { params: Params<'storageLs'>; result: { storage: StorageRecord[] } };
  /** deletes buckets aloft created, objects and all; one outcome per bucket */
  storageDelete: { params: Params<'storageDelete'>; result: { deleted: string[]; failed: Array<{ name: string; error: string }> } };
  // team mode (users, tokens and the audit log are admin-only, except whoami)
  whoami: { params: Params<'whoami'>; result: WhoAmI };
  usersAdd: { params: Params<'usersAdd'>; result: { user: UserInfo } };
  usersList: { params: Params<'usersList'>; result: { users: UserInfo[] } };
  usersRemove: { params: Params<'usersRemove'>; result: { ok: true } };
  /** the token itself is in this answer only, never stored */
  tokensCreate: { params: Params<'tokensCreate'>; result: { id: string; token: string } };
  tokensList: { params: Params<'tokensList'>; result: { tokens: TokenInfo[] } };
  tokensRevoke: { params: Params<'tokensRevoke'>; result: { ok: true } };
  audit: { params: Params<'audit'>; result: { entries: AuditRecord[] } };
}

export interface CostReportRow {
  name: string;
  uid: string;
  cloud: string;
  infra: string;
  resources: string;
  useSpot: boolean;
  /** UP | INIT | STOPPED, or TERMINATED once torn down */
  status: string;
  launchedAt: number;
  endedAt?: number;
  hours: number;
  /** $/hr of the whole cluster */
  hourlyPrice: number;
  cost: number;
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
  | {
      kind: 'local';
      home: string;
      env: Record<string, string>;
      /** argv prefix that enters the node's namespaces (none for a plain node) */
      enter?: string[];
      /** where the shell starts: the node's workdir */
      cwd?: string;
    }
  | {
      kind: 'ssh';
      host: string;
      port: number;
      user: string;
      identityFile?: string;
      /** the host key record to check against (cloud VMs: one per cluster); default ALOFT_HOME/ssh/known_hosts */
      knownHostsFile?: string;
      home: string;
      env?: Record<string, string>;
    }
  | {
      kind: 'kubernetes';
      context: string;
      namespace: string;
      pod: string;
      container: string;
      /** the kubeconfig files the daemon read the context from */
      kubeconfig: string[];
      home: string;
      env: Record<string, string>;
    };

/** Error body for a non-2xx answer. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}
