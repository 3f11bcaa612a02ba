// The balancer's workers, as the primary process sees them. One worker runs in the primary
// itself; more are node:cluster processes sharing the service's port (the primary accepts and
// hands connections round-robin), so requests that arrive together are proxied on several cores
// instead of one after another on one thread — what a single Node thread costs in added latency
// under concurrent load. Config goes to every worker; ejections one worker sees are passed to
// the others; events are told once; stats are asked of each and added up (snapshot.ts).
import cluster, { type Worker } from 'node:cluster';
import type { LbConfig, LbEvent, LbStart } from './protocol.js';
import { openBalancer, type OpenBalancer } from './server.js';
import { emptySnapshot, snapshotOf, type WorkerSnapshot } from './snapshot.js';

/** primary → worker */
export type ToWorker =
  | { t: 'start'; cfg: LbConfig; listen: LbStart }
  | { t: 'config'; id: number; cfg: LbConfig }
  | { t: 'snapshot'; id: number; now: number; window: number }
  | { t: 'eject'; url: string; reason: string }
  | { t: 'others'; byUrl: Record<string, number> }
  | { t: 'stop' };

/** worker → primary */
export type FromWorker =
  | { t: 'ready' }
  | { t: 'listening'; port: number; requested: number }
  | { t: 'failed'; error: string }
  | { t: 'reply'; id: number; snapshot?: WorkerSnapshot }
  | { t: 'event'; e: LbEvent }
  /** its requests in flight by replica URL, when they changed (at most every INFLIGHT_REPORT_MS) */
  | { t: 'inflight'; byUrl: Record<string, number> };

/** How often a worker tells its in-flight counts, when they changed. */
export const INFLIGHT_REPORT_MS = 100;

/** The port bound, and the one asked for (node:cluster shares a socket between workers by the latter). */
type Bound = { port: number; requested: number };

interface BalancerWorker {
  /** listening on the service's port */
  readonly serving: boolean;
  start(cfg: LbConfig, listen: LbStart): Promise<Bound>;
  configure(cfg: LbConfig): Promise<void>;
  snapshot(now: number, window: number): Promise<WorkerSnapshot>;
  eject(url: string, reason: string): void;
  /** what the other workers have in flight, by replica URL */
  others(byUrl: Record<string, number>): void;
  stop(): Promise<void>;
}

type Hooks = {
  log(line: string): void;
  event(from: BalancerWorker, e: LbEvent): void;
  inflight(from: BalancerWorker, byUrl: Record<string, number>): void;
};

class InProcessWorker implements BalancerWorker {
  private open?: OpenBalancer;
  get serving(): boolean {
    return this.open !== undefined;
  }
  constructor(private readonly hooks: Hooks) {}

  async start(cfg: LbConfig, listen: LbStart): Promise<Bound> {
    this.open = await openBalancer(cfg, listen, { log: this.hooks.log, emit: (e) => this.hooks.event(this, e) });
    return { port: this.open.port, requested: this.open.requested };
  }
  async configure(cfg: LbConfig): Promise<void> {
    this.open?.balancer.configure(cfg);
  }
  async snapshot(now: number, window: number): Promise<WorkerSnapshot> {
    return this.open ? snapshotOf(this.open.balancer, now, window) : emptySnapshot(window);
  }
  eject(url: string, reason: string): void {
    this.open?.balancer.eject(url, reason);
  }
  others(byUrl: Record<string, number>): void {
    this.open?.balancer.setOthersInflight(byUrl);
  }
  async stop(): Promise<void> {
    this.open?.close();
  }
}

// Under the daemon's 5 s for a control call: a hung worker is left out, the others still answer.
const ASK_TIMEOUT_MS = 2000;

class ForkedWorker implements BalancerWorker {
  private next = 1;
  private readonly pending = new Map<number, { resolve(v: FromWorker & { t: 'reply' }): void; reject(e: Error): void }>();
  private readonly worker: Worker;
  private started?: { resolve(b: Bound): void; reject(e: Error): void };
  /** what waits for the worker to listen for messages (an ES module worker loses earlier ones) */
  private queue: ToWorker[] | undefined = [];
  serving = false;
  stopping = false;

  constructor(
    private readonly hooks: Hooks,
    onExit: (w: ForkedWorker, why: string) => void,
  ) {
    this.worker = cluster.fork();
    this.worker.on('message', (m: FromWorker) => this.onMessage(m));
    this.worker.on('exit', (code, signal) => {
      const why = signal ? `killed by ${signal}` : `exit code ${code}`;
      const err = new Error(`balancer worker ${this.worker.process.pid} ended (${why})`);
      this.started?.reject(err);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      if (!this.stopping) onExit(this, why);
    });
  }

  get pid(): number | undefined {
    return this.worker.process.pid;
  }

  private onMessage(m: FromWorker): void {
    if (m.t === 'ready') {
      const q = this.queue ?? [];
      this.queue = undefined;
      for (const x of q) this.send(x);
    } else if (m.t === 'listening') {
      this.serving = true;
      this.started?.resolve({ port: m.port, requested: m.requested });
    } else if (m.t === 'failed') this.started?.reject(new Error(m.error));
    else if (m.t === 'event') this.hooks.event(this, m.e);
    else if (m.t === 'inflight') this.hooks.inflight(this, m.byUrl);
    else if (m.t === 'reply') {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      p?.resolve(m);
    }
  }

  private send(m: ToWorker): void {
    if (this.queue) this.queue.push(m);
    else if (this.worker.isConnected()) this.worker.send(m, undefined, undefined, () => undefined);
  }

  private ask(m: { t: 'config'; cfg: LbConfig } | { t: 'snapshot'; now: number; window: number }): Promise<FromWorker & { t: 'reply' }> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`balancer worker ${this.pid} did not answer within ${ASK_TIMEOUT_MS} ms`));
      }, ASK_TIMEOUT_MS);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.send({ ...m, id });
    });
  }

  start(cfg: LbConfig, listen: LbStart): Promise<Bound> {
    return new Promise((resolve, reject) => {
      this.started = { resolve, reject };
      this.send({ t: 'start', cfg, listen });
    });
  }
  async configure(cfg: LbConfig): Promise<void> {
    await this.ask({ t: 'config', cfg });
  }
  async snapshot(now: number, window: number): Promise<WorkerSnapshot> {
    return (await this.ask({ t: 'snapshot', now, window })).snapshot ?? emptySnapshot(window);
  }
  eject(url: string, reason: string): void {
    this.send({ t: 'eject', url, reason });
  }
  others(byUrl: Record<string, number>): void {
    this.send({ t: 'others', byUrl });
  }
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.worker.isDead()) return;
    const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    this.send({ t: 'stop' });
    const timer = setTimeout(() => this.worker.process.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}

/** A crashed worker is replaced, but not in a loop: at most this many times a minute. */
const RESTARTS_PER_MINUTE = 5;

export class WorkerSet {
  private readonly workers: BalancerWorker[] = [];
  private cfg: LbConfig;
  private listen: LbStart;
  private readonly ejected = new Set<string>();
  private lastDemand = 0;
  private restarts: number[] = [];
  /** each worker's last in-flight report, and the sum of the others' last told to each */
  private readonly loads = new Map<BalancerWorker, Record<string, number>>();
  private readonly told = new Map<BalancerWorker, string>();
  private stopped = false;

  constructor(
    cfg: LbConfig,
    listen: LbStart,
    private readonly count: number,
    private readonly log: (line: string) => void,
    private readonly emit: (e: LbEvent) => void,
  ) {
    this.cfg = cfg;
    this.listen = listen;
  }

  /** Workers listening on the service's port. */
  get serving(): number {
    return this.workers.filter((w) => w.serving).length;
  }

  pids(): number[] {
    return this.workers.flatMap((w) => (w instanceof ForkedWorker && w.pid ? [w.pid] : []));
  }

  /**
   * Starts the workers; resolves with the port once the first listens (it finds the port, with
   * portSearch): the balancer serves from then on, the others join as they come up (each is a
   * Node process start, ~0.25 s here, that `serve up` need not wait for).
   */
  async start(): Promise<number> {
    const hooks = this.hooks();
    const first = this.count === 1 ? new InProcessWorker(hooks) : this.fork();
    this.workers.push(first);
    const { port, requested } = await first.start(this.cfg, this.listen);
    this.listen = { ...this.listen, port: requested, portSearch: undefined };
    for (let i = 1; i < this.count; i++) {
      const w = this.fork();
      this.workers.push(w);
      w.start(this.cfg, this.listen).then(
        () => this.serving === this.count && this.log(`all ${this.count} workers serving`),
        (err: Error) => this.log(`worker ${w.pid} failed to start: ${err.message}`),
      );
    }
    return port;
  }

  private hooks(): Hooks {
    return { log: this.log, event: (from, e) => this.onEvent(from, e), inflight: (from, byUrl) => this.onInflight(from, byUrl) };
  }

  private fork(): ForkedWorker {
    return new ForkedWorker(this.hooks(), (w, why) => this.replace(w, why));
  }

  /** least_load over the whole service: each worker hears what the others have in flight. */
  private onInflight(from: BalancerWorker | undefined, byUrl?: Record<string, number>): void {
    if (from && byUrl) this.loads.set(from, byUrl);
    for (const w of this.workers) {
      const others: Record<string, number> = {};
      for (const [x, load] of this.loads) if (x !== w) for (const [url, n] of Object.entries(load)) others[url] = (others[url] ?? 0) + n;
      const key = JSON.stringify(others);
      if (this.told.get(w) === key) continue;
      this.told.set(w, key);
      w.others(others);
    }
  }

  private replace(dead: ForkedWorker, why: string): void {
    const i = this.workers.indexOf(dead);
    if (i === -1 || this.stopped) return;
    this.workers.splice(i, 1);
    // its requests died with it
    this.loads.delete(dead);
    this.told.delete(dead);
    this.onInflight(undefined);
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < 60_000);
    if (this.restarts.length >= RESTARTS_PER_MINUTE) {
      this.log(`balancer worker ${dead.pid} ended (${why}); not replaced: ${RESTARTS_PER_MINUTE} replaced in the last minute already, ${this.workers.length} left`);
      return;
    }
    this.restarts.push(now);
    this.log(`balancer worker ${dead.pid} ended (${why}); starting another`);
    const w = this.fork();
    this.workers.push(w);
    w.start(this.cfg, this.listen).catch((err: Error) => this.log(`replacement worker failed: ${err.message}`));
  }

  async configure(cfg: LbConfig): Promise<void> {
    this.cfg = cfg;
    const listed = new Set(cfg.replicas.map((r) => r.url));
    for (const url of [...this.ejected]) if (!listed.has(url)) this.ejected.delete(url);
    await Promise.all(this.workers.map((w) => w.configure(cfg)));
  }

  /** Every worker's snapshot (a worker that does not answer is left out, and logged). */
  async snapshots(now: number, window: number): Promise<WorkerSnapshot[]> {
    const all = await Promise.allSettled(this.workers.map((w) => w.snapshot(now, window)));
    return all.flatMap((r) => {
      if (r.status === 'fulfilled') return [r.value];
      this.log(`stats: ${(r.reason as Error).message}`);
      return [];
    });
  }

  /** Events once per service: the first worker to eject a replica tells the others to stop using it. */
  private onEvent(from: BalancerWorker, e: LbEvent): void {
    if (e.type === 'demand') {
      if (e.ts - this.lastDemand < 500) return;
      this.lastDemand = e.ts;
    } else if (e.type === 'ejected') {
      if (this.ejected.has(e.url)) return;
      this.ejected.add(e.url);
      for (const w of this.workers) if (w !== from) w.eject(e.url, `another worker saw: ${e.reason}`);
    } else if (e.type === 'restored') {
      if (!this.ejected.delete(e.url)) return;
    }
    this.emit(e);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}
