// ndjson RPC over any duplex byte stream (see protocol.ts for the wire format). The same module
// serves the agent (RpcConnection, one per accepted socket) and its callers (AgentClient: the
// daemon, and a head agent driving its workers).

import { EventEmitter } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import type { Duplex } from 'node:stream';
import type { AgentMethod, AgentMethods, HelloResult } from './protocol.js';

/** An error answered by an agent (or raised by the client: TIMEOUT, CLOSED, PROTOCOL). */
export class AgentError extends Error {
  constructor(
    message: string,
    readonly code: string = 'INTERNAL',
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

/** Largest single message accepted; a peer sending more is cut off rather than eating memory. */
const MAX_LINE = 256 * 1024 * 1024;

/** Splits a byte stream into lines without quadratic string growth on large messages. */
export class LineDecoder {
  private decoder = new StringDecoder('utf8');
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    let s = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let nl = s.indexOf('\n');
    while (nl !== -1) {
      let line = s.slice(0, nl);
      if (this.parts.length > 0) {
        this.parts.push(line);
        line = this.parts.join('');
        this.parts = [];
        this.size = 0;
      }
      if (line.length > 0) this.onLine(line);
      s = s.slice(nl + 1);
      nl = s.indexOf('\n');
    }
    if (s.length > 0) {
      this.parts.push(s);
      this.size += s.length;
      if (this.size > MAX_LINE) throw new AgentError('message too large', 'PROTOCOL');
    }
  }
}

interface Message {
  id?: number;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { message: string; code?: string };
  stream?: number;
  data?: unknown;
  end?: boolean;
  /** client → agent: stop a streaming call (an addition to the protocol) */
  cancel?: number;
}

// ---------------------------------------------------------------- server side

/** Handed to a streaming method's handler: items queue until the result has been sent. */
export interface StreamSink {
  send(data: unknown): void;
  end(): void;
  /** resolves when the socket has room again (for log streams that can outpace a reader) */
  drained(): Promise<void>;
  readonly closed: boolean;
  onClose(cb: () => void): void;
}

export interface CallContext {
  conn: RpcConnection;
  /** set for streaming methods */
  sink?: StreamSink;
}

export type Handler = (params: any, ctx: CallContext) => Promise<unknown> | unknown;

export interface ServerOptions {
  /** methods answered with a stream (result first, then items, then end) */
  streaming: ReadonlySet<string>;
  /** when set (TCP), the first call must be hello carrying this token */
  token?: string;
}

/** One accepted connection on the agent side. */
export class RpcConnection extends EventEmitter {
  private authed: boolean;
  private closedFlag = false;
  private sinks = new Map<number, SinkImpl>();

  constructor(
    readonly stream: Duplex,
    private readonly handlers: Record<string, Handler>,
    private readonly opts: ServerOptions,
  ) {
    super();
    this.authed = !opts.token;
    const dec = new LineDecoder((line) => this.onLine(line));
    stream.on('data', (c: Buffer) => {
      try {
        dec.push(c);
      } catch {
        stream.destroy();
      }
    });
    const done = () => this.onClose();
    stream.on('close', done);
    stream.on('end', () => stream.end());
    stream.on('error', () => stream.destroy());
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  private onClose(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const s of this.sinks.values()) s.fireClose();
    this.sinks.clear();
    this.emit('close');
  }

  write(msg: Message): boolean {
    if (this.closedFlag || this.stream.destroyed) return false;
    return this.stream.write(JSON.stringify(msg) + '\n');
  }

  close(): void {
    this.stream.end();
  }

  private onLine(line: string): void {
    let msg: Message;
    try {
      msg = JSON.parse(line) as Message;
    } catch {
      this.write({ error: { message: 'bad json', code: 'PROTOCOL' } });
      return;
    }
    if (typeof msg.cancel === 'number') {
      const s = this.sinks.get(msg.cancel);
      if (s) {
        s.fireClose();
        s.end();
      }
      return;
    }
    if (typeof msg.id !== 'number' || typeof msg.method !== 'string') return;
    void this.dispatch(msg.id, msg.method, msg.params ?? {});
  }

  private async dispatch(id: number, method: string, params: any): Promise<void> {
    if (!this.authed) {
      if (method !== 'hello' || params?.token !== this.opts.token) {
        this.write({ id, error: { message: 'unauthorized: hello with the cluster token first', code: 'UNAUTHORIZED' } });
        this.stream.end();
        return;
      }
      this.authed = true;
    }
    const handler = this.handlers[method];
    if (!handler) {
      this.write({ id, error: { message: `unknown method '${method}'`, code: 'NO_METHOD' } });
      return;
    }
    const sink = this.opts.streaming.has(method) ? new SinkImpl(this, id) : undefined;
    if (sink) this.sinks.set(id, sink);
    try {
      const result = await handler(params, { conn: this, sink });
      this.write({ id, result: result ?? {} });
      sink?.open();
    } catch (err) {
      const e = err as { message?: string; code?: string };
      this.write({ id, error: { message: e?.message ?? String(err), code: typeof e?.code === 'string' ? e.code : 'INTERNAL' } });
      if (sink) {
        this.sinks.delete(id);
        sink.fireClose();
      }
    }
  }

  /** @internal */
  forget(id: number): void {
    this.sinks.delete(id);
  }
}

class SinkImpl implements StreamSink {
  private queue: Message[] | undefined = [];
  private ended = false;
  private closeCbs: Array<() => void> = [];
  private closeFired = false;

  constructor(
    private readonly conn: RpcConnection,
    private readonly id: number,
  ) {}

  get closed(): boolean {
    return this.ended || this.conn.closed;
  }

  send(data: unknown): void {
    if (this.ended) return;
    const m: Message = { stream: this.id, data };
    if (this.queue) this.queue.push(m);
    else this.conn.write(m);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    const m: Message = { stream: this.id, end: true };
    if (this.queue) this.queue.push(m);
    else {
      this.conn.write(m);
      this.conn.forget(this.id);
    }
  }

  open(): void {
    const q = this.queue ?? [];
    this.queue = undefined;
    for (const m of q) this.conn.write(m);
    if (this.ended) this.conn.forget(this.id);
  }

  drained(): Promise<void> {
    const s = this.conn.stream;
    if (this.closed || !s.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        s.off('drain', done);
        s.off('close', done);
        resolve();
      };
      s.on('drain', done);
      s.on('close', done);
    });
  }

  onClose(cb: () => void): void {
    if (this.closeFired) cb();
    else this.closeCbs.push(cb);
  }

  fireClose(): void {
    if (this.closeFired) return;
    this.closeFired = true;
    for (const cb of this.closeCbs) {
      try {
        cb();
      } catch {
        /* a handler's cleanup must not break the others */
      }
    }
  }
}

// ---------------------------------------------------------------- client side

export interface CallOptions {
  /** ms before the call fails with TIMEOUT (streams: until the result arrives); 0 = none */
  timeoutMs?: number;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
  onItem?: (data: any) => void;
}

interface ActiveStream {
  onItem: (data: any) => void;
  done: () => void;
  fail: (e: Error) => void;
  /** items that arrived before the caller got the result (never happens in order, kept for safety) */
}

export interface StreamHandle<R> {
  result: R;
  /** resolves on the agent's `end`; rejects with CLOSED if the connection drops first */
  done: Promise<void>;
  /** asks the agent to stop the stream (done then resolves) */
  cancel(): void;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** A connection to an agent. Emits 'close' once when the connection ends. */
export class AgentClient extends EventEmitter {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private streams = new Map<number, ActiveStream>();
  private closedFlag = false;
  hello!: HelloResult;

  private constructor(
    private readonly sock: Duplex,
    private readonly defaultTimeoutMs: number,
  ) {
    super();
    const dec = new LineDecoder((line) => this.onLine(line));
    sock.on('data', (c: Buffer) => {
      try {
        dec.push(c);
      } catch {
        sock.destroy();
      }
    });
    sock.on('close', () => this.onClose());
    sock.on('end', () => sock.end());
    sock.on('error', () => sock.destroy());
  }

  /** Wraps a connected stream and says hello (with the token for TCP agents). */
  static async connect(stream: Duplex, opts: { token?: string; timeoutMs?: number } = {}): Promise<AgentClient> {
    const c = new AgentClient(stream, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    try {
      c.hello = await c.call('hello', opts.token ? { token: opts.token } : {});
    } catch (err) {
      c.close();
      throw err;
    }
    return c;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  call<M extends AgentMethod>(
    method: M,
    params: AgentMethods[M]['params'],
    opts: CallOptions = {},
  ): Promise<AgentMethods[M]['result']> {
    return this.request(method, params, opts) as Promise<AgentMethods[M]['result']>;
  }

  async stream<M extends AgentMethod>(
    method: M,
    params: AgentMethods[M]['params'],
    onItem: (data: any) => void,
    opts: CallOptions = {},
  ): Promise<StreamHandle<AgentMethods[M]['result']>> {
    let id = 0;
    let doneResolve!: () => void;
    let doneReject!: (e: Error) => void;
    const done = new Promise<void>((res, rej) => {
      doneResolve = res;
      doneReject = rej;
    });
    // Callers often await `result` and only then look at `done`; don't let a drop go unhandled.
    done.catch(() => undefined);
    const result = (await this.request(method, params, opts, (sid) => {
      id = sid;
      this.streams.set(sid, { onItem, done: doneResolve, fail: doneReject });
    })) as AgentMethods[M]['result'];
    return {
      result,
      done,
      cancel: () => {
        if (this.streams.has(id)) this.send({ cancel: id });
      },
    };
  }

  close(): void {
    this.sock.end();
    // A peer that never answers the FIN would keep us waiting forever.
    setTimeout(() => this.sock.destroy(), 1000).unref();
  }

  private send(msg: Message): void {
    if (this.closedFlag) return;
    this.sock.write(JSON.stringify(msg) + '\n');
  }

  private request(method: string, params: unknown, opts: CallOptions, registerStream?: (id: number) => void): Promise<unknown> {
    if (this.closedFlag) return Promise.reject(new AgentError('connection to agent closed', 'CLOSED'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve, reject };
      const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => {
          this.pending.delete(id);
          this.streams.delete(id);
          reject(new AgentError(`agent did not answer '${method}' within ${timeoutMs} ms`, 'TIMEOUT'));
        }, timeoutMs);
        p.timer.unref?.();
      }
      this.pending.set(id, p);
      registerStream?.(id);
      this.send({ id, method, params });
    });
  }

  private onLine(line: string): void {
    let msg: Message;
    try {
      msg = JSON.parse(line) as Message;
    } catch {
      return;
    }
    if (typeof msg.stream === 'number') {
      const s = this.streams.get(msg.stream);
      if (!s) return;
      if (msg.end) {
        this.streams.delete(msg.stream);
        s.done();
      } else {
        try {
          s.onItem(msg.data);
        } catch {
          /* a listener's bug must not kill the connection */
        }
      }
      return;
    }
    if (typeof msg.id !== 'number') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (p.timer) clearTimeout(p.timer);
    if (msg.error) {
      this.streams.get(msg.id)?.fail(new AgentError(msg.error.message, msg.error.code ?? 'INTERNAL'));
      this.streams.delete(msg.id);
      p.reject(new AgentError(msg.error.message, msg.error.code ?? 'INTERNAL'));
    } else p.resolve(msg.result);
  }

  private onClose(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    const err = () => new AgentError('connection to agent closed', 'CLOSED');
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(err());
    }
    this.pending.clear();
    for (const s of this.streams.values()) s.fail(err());
    this.streams.clear();
    this.emit('close');
  }
}
