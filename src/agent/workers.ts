// The head agent's connections to its worker agents (unix sockets locally, TCP with the cluster
// token across machines), opened lazily and re-opened after a drop.
import net from 'node:net';
import type { ClusterConfig, Endpoint } from './protocol.js';
import { AgentClient, AgentError } from './rpc.js';
import { withTimeout } from '../util/timeout.js';

export function connectEndpoint(ep: Endpoint): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = ep.kind === 'unix' ? net.connect(ep.path) : net.connect(ep.port, ep.host);
    // An unreachable host would otherwise hold the rank for the kernel's SYN timeout (minutes).
    const timer = setTimeout(() => sock.destroy(new Error(`connecting to ${ep.kind === 'unix' ? ep.path : `${ep.host}:${ep.port}`} timed out`)), 10_000);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.off('error', reject);
      resolve(sock);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export class WorkerPool {
  private clients = new Map<number, Promise<AgentClient>>();
  /** clients closed on purpose (drop, reconfigure): their 'close' is no news */
  private dropping = new WeakSet<AgentClient>();

  constructor(
    private readonly config: () => ClusterConfig | undefined,
    /** a connection to a worker agent broke by itself (the agent died, its host went away) */
    private readonly onLost: (rank: number, error: string) => void = () => undefined,
  ) {}

  get(rank: number): Promise<AgentClient> {
    let p = this.clients.get(rank);
    if (p) return p;
    const cfg = this.config();
    const node = cfg?.nodes.find((n) => n.rank === rank);
    if (!node) return Promise.reject(new AgentError(`no node with rank ${rank} in the cluster config`, 'NO_NODE'));
    const made = connectEndpoint(node.endpoint).then((sock) => AgentClient.connect(sock, { token: cfg?.token, timeoutMs: 15_000 }));
    p = made;
    this.clients.set(rank, made);
    const forget = () => {
      if (this.clients.get(rank) === made) this.clients.delete(rank);
    };
    made.then(
      (c) =>
        c.on('close', () => {
          forget();
          if (!this.dropping.has(c)) this.onLost(rank, 'connection to the worker agent closed');
        }),
      forget,
    );
    return made;
  }

  /** Asks every worker agent for `hello` (a fresh connection when the old one died). */
  async health(timeoutMs = 3000): Promise<{ unreachable: Array<{ rank: number; error: string }> }> {
    const nodes = (this.config()?.nodes ?? []).filter((n) => n.rank > 0);
    const unreachable: Array<{ rank: number; error: string }> = [];
    await Promise.all(
      nodes.map(async (n) => {
        try {
          // The connect can hang as well as the call (a host that drops packets): bound both.
          await withTimeout(this.get(n.rank).then((c) => c.call('hello', {})), timeoutMs, `no answer in ${timeoutMs / 1000}s`);
        } catch (err) {
          unreachable.push({ rank: n.rank, error: (err as Error).message ?? String(err) });
          // the cached client may be the broken one: reconnect next time
          this.clients.delete(n.rank);
        }
      }),
    );
    return { unreachable: unreachable.sort((a, b) => a.rank - b.rank) };
  }

  drop(): void {
    for (const p of this.clients.values())
      p.then(
        (c) => {
          this.dropping.add(c);
          c.close();
        },
        () => undefined,
      );
    this.clients.clear();
  }

  /** Asks every worker to stop ranks of jobs not in `activeJobIds` (best effort: an old worker lacks the method). */
  async reconcile(activeJobIds: number[]): Promise<void> {
    const nodes = (this.config()?.nodes ?? []).filter((n) => n.rank > 0);
    await Promise.all(
      nodes.map(async (n) => {
        try {
          const c = await this.get(n.rank);
          await c.call('reconcileRanks', { activeJobIds }, { timeoutMs: 30_000 });
        } catch {
          /* unreachable or older: its health check reports the former */
        }
      }),
    );
  }

  /** Asks every worker agent to shut down (best effort: a dead one is already down). */
  async shutdownAll(reason: string, timeoutMs: number, powerOffAfterMs?: number): Promise<void> {
    const nodes = (this.config()?.nodes ?? []).filter((n) => n.rank !== 0);
    await Promise.all(
      nodes.map(async (n) => {
        try {
          const c = await this.get(n.rank);
          await c.call('shutdown', powerOffAfterMs === undefined ? { reason } : { reason, powerOffAfterMs }, { timeoutMs });
        } catch {
          /* already gone */
        }
      }),
    );
  }

  /** Kills whatever runs of a job on the workers (after the head lost it). */
  killJob(jobId: number, numNodes: number, timeoutMs: number): void {
    for (let r = 1; r < numNodes; r++) {
      void this.get(r)
        .then((c) => c.call('killRank', { jobId }, { timeoutMs }))
        .catch(() => undefined);
    }
  }
}
