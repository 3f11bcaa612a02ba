// The agent protocol: newline-delimited JSON over any duplex byte stream (a unix socket on the
// node, reached locally, through an ssh streamlocal forward, or a kubernetes exec bridge).
//
//   client → agent   {"id": 1, "method": "submit", "params": {...}}
//   agent  → client  {"id": 1, "result": {...}}  |  {"id": 1, "error": {"message": "...", "code": "..."}}
//   agent  → client  {"stream": 1, "data": {...}}  (items of a streaming call with id 1)
//   agent  → client  {"stream": 1, "end": true}    (the streaming call with id 1 is over)
//   client → agent   {"cancel": 1}                  (stop streaming call 1; the agent sends its end)
//
// A streaming call (watch, logs, runRank) answers with `result` first, then `stream` items.
// Over TCP (worker agents on other machines) the first call must be `hello` with the cluster token.

import type { JobDemand, JobRecord, JobStatus, NodeResources } from '../protocol/model.js';

export const AGENT_PROTOCOL_VERSION = 1;

export type Endpoint = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** What the head agent knows about the cluster; sent by the daemon after the agents start. */
export interface ClusterConfig {
  clusterName: string;
  clusterUid: string;
  cloud: string;
  region?: string;
  zone?: string;
  /** in rank order; nodes[0] is the head */
  nodes: Array<{ rank: number; ip: string; endpoint: Endpoint; resources: NodeResources }>;
  /** shared secret for worker connections over TCP */
  token?: string;
  autostop?: { idleMinutes: number; down: boolean };
  /** nodes are machines of their own (cloud VMs): autostop powers them off (agent/poweroff.ts) */
  powerOff?: boolean;
}

export interface JobSubmission {
  name?: string;
  /** shell script run with bash on every rank */
  run: string;
  /** when present, runs once on every rank before `run` (state SETTING_UP) */
  setup?: string;
  envs: Record<string, string>;
  /** injected into the environment; kept only in a 0600 file on the node, never echoed back */
  secrets: Record<string, string>;
  numNodes: number;
  demand: JobDemand;
  /** directory the job runs in, relative to the node's home (e.g. "sky_workdir"); created if missing */
  workdir?: string;
  /** SKYPILOT_TASK_ID; generated when missing */
  taskId?: string;
  /** extra env only for this job (e.g. SKYPILOT_MANAGED_JOB_ID) */
  extraEnv?: Record<string, string>;
  /** who submitted it (shown as USER; never used for access on the node) */
  user?: string;
  /**
   * the daemon's request (or the CLI's exec key) this submission belongs to: a second submit with
   * the same one answers the job the first created, so a retry after a lost answer never runs a
   * job twice
   */
  requestId?: string;
}

/** A job as the agent reports it (the daemon adds cluster / clusterUid). */
export type AgentJob = Omit<JobRecord, 'cluster' | 'clusterUid'>;

export interface HelloResult {
  protocol: number;
  version: string;
  pid: number;
  nodeDir: string;
  resources: NodeResources;
  /** the agent's job-change sequence; `watch` resumes from it */
  seq: number;
  configured: boolean;
  clusterName?: string;
}

export interface AgentMethods {
  hello: { params: { token?: string }; result: HelloResult };
  configure: { params: ClusterConfig; result: { ok: true } };
  submit: { params: JobSubmission; result: { jobId: number } };
  cancel: { params: { jobIds?: number[]; all?: boolean }; result: { cancelled: number[] } };
  /** `requestId`: only the job submitted with that key (older agents ignore it; filter the answer) */
  jobs: { params: { jobIds?: number[]; requestId?: string }; result: { jobs: AgentJob[]; seq: number } };
  /**
   * streams {seq, job: AgentJob} for every change after `sinceSeq`, starting with anything missed
   * (replayed as each changed job's latest state, in seq order), {autostop: AutostopMarker}
   * when the head agent autostops, and {workerLost: {rank, error}} when the head's connection to
   * a worker agent breaks (so the daemon looks at the cluster's health at once)
   */
  watch: { params: { sinceSeq: number }; result: { seq: number } };
  /**
   * streams {text} chunks of the job's log, then a last {status} item with the job's status at the
   * end; ends when the job is terminal and the log drained (follow) or at EOF. `rank` keeps only
   * that rank's lines (multi-node lines are prefixed `(head, rank=0, pid=N) `, `(worker1, rank=1, …) `).
   */
  logs: {
    params: { jobId: number; follow: boolean; tailLines?: number; rank?: number };
    result: { status: JobStatus };
  };
  setAutostop: { params: { idleMinutes: number; down: boolean } | { cancel: true }; result: { ok: true } };
  /** idle time etc., for status and tests */
  info: {
    params: Record<string, never>;
    result: { idleSeconds: number; autostop?: { idleMinutes: number; down: boolean }; runningJobs: number };
  };
  /** head only: which worker agents do not answer (a dead host, a killed agent) */
  workerHealth: { params: Record<string, never>; result: { unreachable: Array<{ rank: number; error: string }> } };
  /** stop: kill every job and exit (node kept); the agent answers, then exits */
  /** `powerOffAfterMs`: then power the node off (autostop on a cloud VM) */
  shutdown: { params: { reason?: string; powerOffAfterMs?: number }; result: { ok: true } };

  // head → worker
  /** starts one rank's process; streams {text} output chunks; then {exitCode} as the last item */
  runRank: {
    params: {
      jobId: number;
      rank: number;
      phase: 'setup' | 'run';
      script: string;
      env: Record<string, string>;
      workdir?: string;
      /** prefix each output line with `(<label>, rank=<rank>, pid=<pid>) ` (e.g. "worker1") */
      label?: string;
      /** re-attach to this rank's process (already started) and stream its log from `offset` */
      attach?: { offset: number };
    };
    /** offset: where in the rank's log file on the worker the streamed text starts */
    result: { pid: number; offset?: number };
  };
  killRank: { params: { jobId: number; phase?: 'setup' | 'run' }; result: { ok: true } };
  /** kills every rank on this worker that belongs to none of `activeJobIds` (left by a lost head or worker agent) */
  reconcileRanks: { params: { activeJobIds: number[] }; result: { killed: number[] } };
}

export type AgentMethod = keyof AgentMethods;

/** Emitted on the `watch` stream (job changes; `{autostop: AutostopMarker}` when autostop fires). */
export interface JobChange {
  seq: number;
  job: AgentJob;
}

/** Written by a head agent to `<nodeDir>/autostopped.json` when autostop fires. */
export interface AutostopMarker {
  at: number;
  down: boolean;
  idleMinutes: number;
}

/** A job as `agent reap` finds it on a node whose agent is gone. */
export interface ReapedJob {
  id: number;
  /** the journal's record when the job had ended (a change the daemon may not have seen) */
  final?: AgentJob;
  phase?: 'setup' | 'run';
  /** its rank-0 process still runs */
  alive: boolean;
  /** what the phase's process exited with, when it recorded it */
  exitCode?: number;
}

export function isJobStatusActive(s: JobStatus): boolean {
  return s === 'INIT' || s === 'PENDING' || s === 'SETTING_UP' || s === 'RUNNING';
}
