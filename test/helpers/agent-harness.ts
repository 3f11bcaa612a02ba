// Real agent processes in temp dirs for the agent tests: the bundle is built once per test file
// (esbuild, ~0.2 s) into a temp dir, so tests exercise exactly what ships to nodes.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { AgentClient } from '../../src/agent/rpc.js';
import type { AgentJob, ClusterConfig, JobSubmission } from '../../src/agent/protocol.js';
import type { JobStatus } from '../../src/protocol/model.js';

const execFileP = promisify(execFile);
const root = resolve(__dirname, '..', '..');

let bundlePromise: Promise<string> | undefined;

/** Path of a freshly built agent bundle (once per test file). */
export function agentBundle(): Promise<string> {
  bundlePromise ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aloft-agent-bundle-'));
    // Running agents have the code loaded already; the file is only needed while tests run.
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const outfile = join(dir, 'agent.cjs');
    // @ts-expect-error plain .mjs module without types
    const mod = (await import('../../scripts/bundle-agent.mjs')) as {
      bundleAgent: (o: { outfile: string }) => Promise<{ outfile: string }>;
    };
    await mod.bundleAgent({ outfile });
    return outfile;
  })();
  return bundlePromise;
}

export interface StartedAgent {
  nodeDir: string;
  pid: number;
  socket: string;
  tcp?: { host: string; port: number };
}

export async function startAgent(
  nodeDir: string,
  opts: { env?: Record<string, string>; extraArgs?: string[] } = {},
): Promise<StartedAgent> {
  const bundle = await agentBundle();
  const { stdout } = await execFileP(process.execPath, [bundle, 'start', '--dir', nodeDir, ...(opts.extraArgs ?? [])], {
    env: { ...process.env, ...opts.env },
    timeout: 30_000,
  });
  const info = JSON.parse(stdout.trim().split('\n').pop()!) as StartedAgent;
  return { ...info, nodeDir };
}

export function connectUnix(path: string): Promise<net.Socket> {
  return new Promise((res, rej) => {
    const s = net.connect(path);
    s.once('connect', () => res(s));
    s.once('error', rej);
  });
}

export async function client(a: { socket: string }): Promise<AgentClient> {
  return AgentClient.connect(await connectUnix(a.socket));
}

/** The agents' and jobs' processes: running, not zombies. */
export { processRunning as alive } from '../../src/util/process.js';

/** A job for one node asking half a CPU: `run`, with what `extra` says otherwise. */
export const submission = (run: string, extra: Partial<JobSubmission> = {}): JobSubmission => ({
  run,
  envs: {},
  secrets: {},
  numNodes: 1,
  demand: { cpus: 0.5, gpus: 0 },
  ...extra,
});

export async function waitFor<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function waitJob(c: AgentClient, id: number, statuses: JobStatus[], timeoutMs = 15_000): Promise<AgentJob> {
  return waitFor(
    async () => {
      const { jobs } = await c.call('jobs', { jobIds: [id] });
      const j = jobs[0];
      return j && statuses.includes(j.status) ? j : undefined;
    },
    timeoutMs,
    `job ${id} to reach ${statuses.join('|')}`,
  );
}

/** Collects a job's whole log (follow until terminal). */
export async function readLogs(
  c: AgentClient,
  jobId: number,
  opts: { follow?: boolean; rank?: number; tailLines?: number } = {},
): Promise<{ text: string; status?: JobStatus }> {
  let text = '';
  let status: JobStatus | undefined;
  const h = await c.stream('logs', { jobId, follow: opts.follow ?? true, rank: opts.rank, tailLines: opts.tailLines }, (item: { text?: string; status?: JobStatus }) => {
    if (item.text) text += item.text;
    if (item.status) status = item.status;
  });
  await h.done;
  return { text, status };
}

export function tempNodeDir(prefix = 'aloft-node-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Kills an agent (and, for cleanup, every process whose env names the node dir). */
export function killAgent(a: { pid: number }, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(a.pid, signal);
  } catch {
    /* gone */
  }
}

export async function cleanupNode(nodeDir: string): Promise<void> {
  // Agents and jobs of this node all carry ALOFT_NODE_DIR=<nodeDir>.
  const { readdirSync } = await import('node:fs');
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${e}/environ`, 'latin1');
      if (env.split('\0').includes(`ALOFT_NODE_DIR=${nodeDir}`)) process.kill(Number(e), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(nodeDir, { recursive: true, force: true });
}

export function clusterConfig(agents: StartedAgent[], extra: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    clusterName: 'test',
    clusterUid: 'uid-test',
    cloud: 'local',
    nodes: agents.map((a, rank) => ({
      rank,
      ip: `127.0.0.${rank + 1}`,
      endpoint: a.tcp ? { kind: 'tcp', host: a.tcp.host, port: a.tcp.port } : { kind: 'unix', path: a.socket },
      resources: { cpus: 4, memoryGiB: 8, accelerators: {} },
    })),
    ...extra,
  };
}

export { spawn };
