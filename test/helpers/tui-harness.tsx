// Renders `aloft top` with every provider, fed by a fake daemon built from protocol types: plain
// records in, the frames Ink would draw out. Keys go through the real stdin parsing.
import { render } from 'ink-testing-library';
import type { ApiClient, ConnectionState, EventSubscription, StreamHandle, SubscribeOptions } from '../../src/client/types.js';
import type { ApiMethod, ApiMethods, EventStreamMessage, LogStreamItem, RequestStreamItem } from '../../src/protocol/api.js';
import type { ClusterRecord, JobRecord, ManagedJobRecord, ReplicaRecord, RequestRecord, ServiceRecord, StateEvent, StateSnapshot } from '../../src/protocol/model.js';
import type { Task } from '../../src/spec/types.js';
import { App } from '../../src/tui/App.js';
import type { TopDeps } from '../../src/tui/context.js';
import type { Keymap } from '../../src/tui/keys/commands.js';
import { TuiStore } from '../../src/tui/state/store.js';

export const KEY = {
  up: '\u001B[A',
  down: '\u001B[B',
  left: '\u001B[D',
  right: '\u001B[C',
  enter: '\r',
  esc: '\u001B',
  tab: '\t',
  backspace: '\u007F',
  ctrlD: '\u0004',
  ctrlK: '\u000B',
  ctrlC: '\u0003',
  ctrlU: '\u0015',
  pgdown: '\u001B[6~',
} as const;

let uidN = 0;
export function cluster(name: string, o: Partial<ClusterRecord> = {}): ClusterRecord {
  return {
    name,
    status: 'UP',
    cloud: 'local',
    infra: 'local',
    numNodes: 1,
    resources: '1x(cpus=2, mem=4GiB)',
    useSpot: false,
    hourlyPrice: 0,
    launchedAt: Date.now() - 60_000,
    updatedAt: Date.now(),
    uid: `uid-${name}-${++uidN}`,
    ...o,
  };
}

export function job(c: ClusterRecord, id: number, o: Partial<JobRecord> = {}): JobRecord {
  return {
    cluster: c.name,
    clusterUid: c.uid,
    id,
    name: `job${id}`,
    status: 'RUNNING',
    numNodes: 1,
    demand: { cpus: 0.5, gpus: 0 },
    resources: '1x[CPU:0.5]',
    submittedAt: Date.now() - 30_000,
    startedAt: Date.now() - 20_000,
    taskId: `t${id}`,
    ...o,
  };
}

export function request(id: string, o: Partial<RequestRecord> = {}): RequestRecord {
  return { id, kind: 'launch', cluster: 'c1', status: 'RUNNING', stage: 'PROVISION', createdAt: Date.now() - 5000, ...o };
}

let managedN = 0;
/** A managed job RUNNING on its first attempt (cluster mj-ID). */
export function managed(o: Partial<ManagedJobRecord> = {}): ManagedJobRecord {
  const id = o.id ?? ++managedN;
  const cluster = o.cluster ?? `mj-${id}`;
  return {
    id,
    name: `train${id}`,
    status: 'RUNNING',
    resources: '1x[CPU:1] spot',
    submittedAt: Date.now() - 120_000,
    startedAt: Date.now() - 100_000,
    jobDurationMs: 0,
    runningSince: Date.now() - 100_000,
    recoveries: 0,
    restartsOnErrors: 0,
    strategy: 'EAGER_NEXT_REGION',
    maxRestartsOnErrors: 0,
    recoverOnExitCodes: [],
    cluster,
    taskId: `mt${id}`,
    attempts: [{ cluster, startedAt: Date.now() - 110_000 }],
    blockedRegions: [],
    useSpot: true,
    ...o,
  };
}

/** A READY service with `replicas` READY replicas (ids 1…n) serving version 1. */
export function service(name: string, o: Partial<ServiceRecord> = {}, replicas = 2): ServiceRecord {
  const now = Date.now();
  const reps: ReplicaRecord[] = Array.from({ length: replicas }, (_, i) => ({
    id: i + 1,
    version: 1,
    status: 'READY',
    cluster: `${name}-${i + 1}`,
    clusterUid: `u-${name}-${i + 1}`,
    jobId: 1,
    url: `http://10.212.${i}.2:8080`,
    useSpot: false,
    infra: 'local',
    resources: '1x(cpus=2, mem=4GiB)',
    launchedAt: now - 60_000,
    readyAt: now - 50_000,
  }));
  return {
    name,
    status: 'READY',
    createdAt: now - 120_000,
    uptimeSince: now - 50_000,
    version: 1,
    versions: [{ version: 1, createdAt: now - 120_000, minReplicas: replicas }],
    activeVersions: [1],
    updateMode: 'rolling',
    port: 30001,
    endpoint: 'http://127.0.0.1:30001',
    replicaPort: 8080,
    loadBalancingPolicy: 'least_load',
    policy: `Fixed ${replicas} replicas`,
    requestedResources: '1x[CPU:0.5]',
    tls: false,
    replicas: reps,
    nextReplicaId: replicas + 1,
    autoscaler: { target: replicas, latestEverReady: 1, launchFailures: 0 },
    metrics: { qps: 12.5, p50Ms: 1.3, p99Ms: 9, inflight: 0, at: now },
    ...o,
  };
}

export function snapshot(o: Partial<StateSnapshot> = {}): StateSnapshot {
  return { seq: 1, clusters: [], jobs: [], requests: [], events: [], ...o };
}

let seqN = 1000;
export function ev(o: Omit<StateEvent, 'seq' | 'ts'> & { seq?: number; ts?: number }): StateEvent {
  return { seq: o.seq ?? ++seqN, ts: o.ts ?? Date.now(), ...o } as StateEvent;
}

/** The daemon's event websocket, as the TUI sees it. */
export class FakeFeed {
  subs: Array<SubscribeOptions & { closed: boolean }> = [];
  subscribe = (opts: SubscribeOptions): EventSubscription => {
    const s = { ...opts, closed: false };
    this.subs.push(s);
    return { close: () => void (s.closed = true) };
  };
  private get live() {
    const s = this.subs[this.subs.length - 1];
    if (!s || s.closed) throw new Error('no live subscription');
    return s;
  }
  send(msg: EventStreamMessage): void {
    this.live.onMessage(msg);
  }
  snapshot(s: StateSnapshot): void {
    this.send({ type: 'snapshot', snapshot: s });
  }
  event(e: StateEvent): void {
    this.send({ type: 'event', event: e });
  }
  connection(state: ConnectionState, detail?: string): void {
    this.live.onConnection?.(state, detail);
  }
}

export interface LogStream {
  q: Parameters<ApiClient['streamLogs']>[0];
  push(text: string): void;
  end(job: JobRecord | null): void;
  fail(err: Error): void;
  aborted: boolean;
}

export interface ManagedLogStream {
  q: { id: number; follow: boolean };
  push(text: string): void;
  end(): void;
  aborted: boolean;
}

type Handlers = { [M in ApiMethod]?: (p: ApiMethods[M]['params']) => ApiMethods[M]['result'] | Promise<ApiMethods[M]['result']> };

/** A daemon that answers from plain objects and records what it was asked. */
export class FakeClient implements ApiClient {
  calls: Array<{ method: ApiMethod; params: unknown }> = [];
  logs: LogStream[] = [];
  managedLogs: ManagedLogStream[] = [];
  serveLogs: Array<{ q: { service: string; target: 'controller' | 'lb'; follow: boolean }; push(text: string): void }> = [];
  constructor(public handlers: Handlers = {}) {}

  async call<M extends ApiMethod>(method: M, params: ApiMethods[M]['params']): Promise<ApiMethods[M]['result']> {
    this.calls.push({ method, params });
    const h = this.handlers[method] as ((p: unknown) => ApiMethods[M]['result']) | undefined;
    if (!h) throw new Error(`daemon: ${method} failed`);
    return h(params);
  }

  streamLogs(q: LogStream['q'], onItem: (item: LogStreamItem) => void): StreamHandle {
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const s: LogStream = {
      q,
      aborted: false,
      push: (text) => onItem({ type: 'text', text }),
      end: (j) => {
        onItem({ type: 'end', job: j });
        resolve();
      },
      fail: (e) => reject(e),
    };
    this.logs.push(s);
    return { done, abort: () => ((s.aborted = true), resolve()) };
  }

  /** what the CLI hands the TUI as `streamManagedLogs` (GET /v1/stream/managedLogs) */
  streamManagedLogs = (q: ManagedLogStream['q'], onItem: (item: LogStreamItem) => void): StreamHandle => {
    let resolve!: () => void;
    const done = new Promise<void>((res) => (resolve = res));
    const s: ManagedLogStream = {
      q,
      aborted: false,
      push: (text) => onItem({ type: 'text', text }),
      end: () => {
        onItem({ type: 'end', job: null });
        resolve();
      },
    };
    this.managedLogs.push(s);
    return { done, abort: () => ((s.aborted = true), resolve()) };
  };

  /** what the CLI hands the TUI as `streamServeLogs` (GET /v1/stream/serveLogs) */
  streamServeLogs = (q: { service: string; target: 'controller' | 'lb'; follow: boolean }, onItem: (item: LogStreamItem) => void): StreamHandle => {
    let resolve!: () => void;
    const done = new Promise<void>((res) => (resolve = res));
    this.serveLogs.push({ q, push: (text) => onItem({ type: 'text', text }) });
    return { done, abort: () => resolve() };
  };

  streamRequest(_id: string, _onItem: (item: RequestStreamItem) => void): StreamHandle {
    return { done: Promise.resolve(), abort: () => undefined };
  }
}

export interface Harness {
  feed: FakeFeed;
  client: FakeClient;
  store: TuiStore;
  deps: TopDeps;
  quits: number;
  shells: string[];
  frame(): string;
  press(...keys: string[]): Promise<void>;
  /** writes every chunk at once (no tick between them: a paste followed at once by a key), then waits */
  burst(...chunks: string[]): Promise<void>;
  type(text: string): Promise<void>;
  /** `:`, `text`, ⏎: a command typed on the command line (":jobs alpha") */
  command(text: string): Promise<void>;
  /** waits until the frame contains `text` (or matches it, or passes the predicate) */
  waitFor(text: string | RegExp | ((frame: string) => boolean), ms?: number): Promise<string>;
  unmount(): void;
}

export const tick = (ms = 15) => new Promise((r) => setTimeout(r, ms));

export function renderTop(
  opts: {
    snapshot?: StateSnapshot;
    handlers?: Handlers;
    keymap?: Keymap;
    rows?: number;
    columns?: number;
    deps?: Partial<TopDeps>;
  } = {},
): Harness {
  const feed = new FakeFeed();
  const client = new FakeClient(opts.handlers);
  // flush at once: tests see each message applied synchronously
  const store = new TuiStore(0);
  store.connect(feed.subscribe);
  const shells: string[] = [];
  const h: Partial<Harness> & { quits: number } = { quits: 0 };
  const deps: TopDeps = {
    client,
    home: '/tmp/aloft-home',
    info: { version: '9.9.9', apiVersion: 'v1', pid: 1, socket: '/tmp/s', home: '/tmp/aloft-home', startedAt: 0, uptimeSeconds: 1 },
    quit: () => void h.quits++,
    shell: (c) => void shells.push(c),
    streamManagedLogs: client.streamManagedLogs,
    streamServeLogs: client.streamServeLogs,
    ...opts.deps,
  };
  feed.connection('connected');
  if (opts.snapshot) feed.snapshot(opts.snapshot);
  const ink = render(<App store={store} deps={deps} keymap={opts.keymap} rows={opts.rows ?? 30} columns={opts.columns ?? 100} />);
  const frame = () => ink.lastFrame() ?? '';
  return Object.assign(h, {
    feed,
    client,
    store,
    deps,
    shells,
    frame,
    async press(...keys: string[]) {
      for (const k of keys) {
        ink.stdin.write(k);
        await tick();
      }
    },
    async burst(...chunks: string[]) {
      for (const c of chunks) ink.stdin.write(c);
      await tick(50);
    },
    async type(text: string) {
      for (const ch of text) {
        ink.stdin.write(ch);
        await tick(5);
      }
      await tick();
    },
    async command(text: string) {
      await h.press!(':');
      await h.type!(text);
      await h.press!(KEY.enter);
    },
    async waitFor(text: string | RegExp | ((frame: string) => boolean), ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const f = frame();
        if (typeof text === 'string' ? f.includes(text) : typeof text === 'function' ? text(f) : text.test(f)) return f;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(text)}; last frame:\n${f}`);
        await tick(10);
      }
    },
    unmount: () => ink.unmount(),
  }) as Harness;
}
