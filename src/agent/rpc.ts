// ndjson RPC over any duplex byte stream (see protocol.ts for the wire format). AgentClient is
// what callers use (the daemon, and a head agent driving its workers); the agent's side of a
// connection is RpcConnection (rpc-server.ts).

import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { AgentMethod, AgentMethods, HelloResult } from './protocol.js';
import { AgentError, LineDecoder, type Message } from './rpc-framing.js';

export { AgentError, LineDecoder } from './rpc-framing.js';
export { RpcConnection, type CallContext, type Handler, type ServerOptions, type StreamSink } from './rpc-server.js';

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
