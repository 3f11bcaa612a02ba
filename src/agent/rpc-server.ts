// The agent's side of an RPC connection: dispatches calls to handlers and carries streams.
import { timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { LineDecoder, type Message } from './rpc-framing.js';

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

/** A TCP peer must say hello with the token within this long... */
const AUTH_DEADLINE_MS = 10_000;
/** ...in a line no longer than this (a hello is ~100 bytes): nobody unauthenticated makes us buffer more. */
const PREAUTH_MAX_LINE = 16 * 1024;
/** the decoder's own cap, once the peer is known */
const MAX_LINE_AUTHED = 256 * 1024 * 1024;

/** One accepted connection on the agent side. */
export class RpcConnection extends EventEmitter {
  private authed: boolean;
  private refused = false;
  private closedFlag = false;
  private sinks = new Map<number, SinkImpl>();

  private readonly decoder: LineDecoder;
  private authTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly stream: Duplex,
    private readonly handlers: Record<string, Handler>,
    private readonly opts: ServerOptions,
  ) {
    super();
    this.authed = !opts.token;
    const dec = (this.decoder = new LineDecoder((line) => this.onLine(line)));
    if (!this.authed) {
      // A peer that has not shown the token gets a short line and a short time to show it.
      dec.maxLine = PREAUTH_MAX_LINE;
      const ms = Number(process.env.ALOFT_AGENT_AUTH_DEADLINE_MS) || AUTH_DEADLINE_MS;
      this.authTimer = setTimeout(() => stream.destroy(), ms);
      this.authTimer.unref();
    }
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

  /** Ends a connection that failed to authenticate; nothing more is read from it. */
  private refuse(): void {
    this.refused = true;
    this.stream.end();
    setTimeout(() => this.stream.destroy(), 1000).unref();
  }

  get authenticated(): boolean {
    return this.authed;
  }

  private onClose(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    if (this.authTimer) clearTimeout(this.authTimer);
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
    if (this.refused) return;
    let msg: Message;
    try {
      msg = JSON.parse(line) as Message;
    } catch {
      this.write({ error: { message: 'bad json', code: 'PROTOCOL' } });
      if (!this.authed) this.refuse();
      return;
    }
    if (msg === null || typeof msg !== 'object') msg = {};
    if (!this.authed && (typeof msg.id !== 'number' || msg.method !== 'hello')) {
      this.write({ ...(typeof msg.id === 'number' ? { id: msg.id } : {}), error: { message: 'unauthorized: hello with the cluster token first', code: 'UNAUTHORIZED' } });
      return this.refuse();
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
      if (method !== 'hello' || !sameToken(params?.token, this.opts.token!)) {
        this.write({ id, error: { message: 'unauthorized: hello with the cluster token first', code: 'UNAUTHORIZED' } });
        return this.refuse();
      }
      this.authed = true;
      if (this.authTimer) clearTimeout(this.authTimer);
      this.decoder.maxLine = MAX_LINE_AUTHED;
      this.emit('authenticated');
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


function sameToken(given: unknown, want: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}
