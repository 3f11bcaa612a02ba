// The reverse proxy of one service, node:http towards clients and undici towards replicas: requests and responses are piped as they come
// (SSE and chunked bodies reach the client chunk by chunk; a websocket upgrade becomes two piped
// sockets), one keep-alive pool per replica. What it adds to a plain proxy:
//   - only the replicas the controller says are READY get requests, and a replica that refuses
//     a connection is ejected at once (and restored when it accepts connections again);
//   - a request that failed before any of its response reached the client is sent to another
//     replica when that is safe: always when the request never reached the app (the connection
//     was refused, or a kept-alive connection was found closed), else only for idempotent methods;
//   - a request that finds no replica (scale from zero, or every replica lost) waits for one
//     instead of failing, up to holdMs, and says so on the event stream (`demand`).
import http from 'node:http';
import net from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { Picker } from './policy.js';
import type { LbConfig, LbEvent, LbReplica, LbReplicaState } from './protocol.js';
import { RequestStats } from './stats.js';

// (and `expect`: Node's server has answered 100-continue already; undici refuses to send it)
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection', 'expect']);
/** RFC 9110 idempotent methods: safe to send again after the replica died mid-request. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** SkyServe's LB_MAX_RETRY: attempts per request. */
const MAX_ATTEMPTS = 3;
/** A response of known length up to this size is sent in one write, headers included. */
const SMALL_BODY = 64 * 1024;
/** A request body up to this size is kept so the request can be sent again. */
const REPLAY_LIMIT = 1 << 20;
/** Errors that mean nothing listens there (any more). */
const REFUSED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ETIMEDOUT', 'EADDRNOTAVAIL']);

export interface BalancerHooks {
  log(line: string): void;
  emit(e: LbEvent): void;
}

interface Target {
  host: string;
  port: number;
  origin: string;
  /** keep-alive connections to the replica (undici: about half the CPU per request of http.Agent) */
  pool: Pool;
}

export class Balancer {
  private cfg: LbConfig;
  private readonly picker: Picker;
  private readonly targets = new Map<string, Target>();
  private readonly inflight = new Map<string, number>();
  /** in flight through the service's other balancer workers (told every ~100 ms): least_load is over all of them */
  private othersInflight = new Map<string, number>();
  private readonly ejected = new Map<string, { since: number; timer: NodeJS.Timeout }>();
  private waiters = new Set<() => void>();
  private lastDemand = 0;
  readonly stats = new RequestStats();

  constructor(
    cfg: LbConfig,
    private readonly hooks: BalancerHooks,
  ) {
    this.cfg = cfg;
    this.picker = new Picker((url) => (this.inflight.get(url) ?? 0) + (this.othersInflight.get(url) ?? 0));
    this.configure(cfg);
  }

  configure(cfg: LbConfig): void {
    const before = new Set(this.cfg.replicas.map((r) => r.url));
    this.cfg = cfg;
    const now = new Set(cfg.replicas.map((r) => r.url));
    for (const r of cfg.replicas) this.target(r.url);
    for (const url of [...this.ejected.keys()]) if (!now.has(url)) this.restore(url, false);
    // A replica taken out finishes what it has in flight; its idle connections go now.
    for (const url of before) if (!now.has(url)) this.retire(url);
    this.picker.configure(cfg);
    const added = [...now].filter((u) => !before.has(u));
    const removed = [...before].filter((u) => !now.has(u));
    if (added.length || removed.length) this.hooks.log(`replicas: ${cfg.replicas.map((r) => `${r.id}@${r.url}`).join(', ') || 'none'}${added.length ? ` (+${added.join(', +')})` : ''}${removed.length ? ` (-${removed.join(', -')})` : ''}`);
    this.wakeWaiters();
  }

  get config(): LbConfig {
    return this.cfg;
  }

  replicaStates(): LbReplicaState[] {
    const listed = new Set(this.cfg.replicas.map((r) => r.url));
    const out: LbReplicaState[] = this.cfg.replicas.map((r) => ({ ...r, inflight: this.inflight.get(r.url) ?? 0, ejected: this.ejected.has(r.url), draining: false }));
    for (const [url, n] of this.inflight) if (!listed.has(url) && n > 0) out.push({ id: -1, url, version: 0, inflight: n, ejected: false, draining: true });
    return out;
  }

  get waiting(): number {
    return this.waiters.size;
  }

  setOthersInflight(byUrl: Record<string, number>): void {
    this.othersInflight = new Map(Object.entries(byUrl));
  }

  inflightByUrl(): Record<string, number> {
    return Object.fromEntries(this.inflight);
  }

  totalInflight(): number {
    let n = 0;
    for (const v of this.inflight.values()) n += v;
    return n;
  }

  // ---- plain requests ----

  handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const t0 = performance.now();
    this.stats.arrive();
    const method = req.method ?? 'GET';
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    // the body as read so far, kept while it is small enough to send again (read only once the
    // first attempt pipes it: a request waiting for a replica leaves its body unread)
    let kept: Buffer[] | undefined = hasBody ? [] : undefined;
    let keptBytes = 0;
    let bodyEnded = !hasBody;
    // Each chunk once: after a failure the rest is read by a listener while the iterator undici
    // was reading from may still hand over the chunk it had asked for (the same Buffer).
    const seen = hasBody ? new WeakSet<Buffer>() : undefined;
    const keep = (c: Buffer) => {
      if (!kept || seen!.has(c)) return;
      seen!.add(c);
      keptBytes += c.length;
      if (keptBytes > REPLAY_LIMIT) kept = undefined;
      else kept.push(c);
    };
    if (hasBody) req.once('end', () => (bodyEnded = true));
    const replayable = () => !hasBody || (bodyEnded && kept !== undefined);
    const tried = new Set<string>();
    let attempts = 0;
    let gone = false;
    res.once('close', () => (gone = true));

    const attempt = async (): Promise<void> => {
      let r = this.pickFor(tried);
      if (!r) {
        // No replica can take it now (none yet, all lost, or all tried): wait for the set to change.
        const changed = await this.waitForReplica(() => gone, (x) => !tried.has(x.url));
        if (gone) return;
        r = changed ? this.pickFor(tried) : undefined;
        if (!r) return this.fail(res, 503, tried.size ? `all ${tried.size} replica(s) tried failed` : `no ready replicas; see \`aloft serve status ${this.cfg.service}\``);
      }
      attempts++;
      tried.add(r.url);
      this.send(r, req, res, t0, {
        first: attempts === 1,
        body: attempts === 1 ? undefined : (kept ?? []),
        keep,
        retry: (why) => {
          if (gone || attempts >= MAX_ATTEMPTS || !(why === 'unsent' || IDEMPOTENT.has(method))) return false;
          if (!hasBody || bodyEnded) {
            if (!replayable()) return false;
            this.stats.retries++;
            void attempt();
            return true;
          }
          // the body is still coming: read the rest (kept, if small enough), then send it again
          if (!kept) return false;
          req.on('data', keep);
          req.resume();
          req.once('end', () => {
            if (gone || !replayable()) return this.fail(res, 502, 'the replica failed while the request body was sent');
            this.stats.retries++;
            void attempt();
          });
          return true;
        },
      });
    };
    void attempt();
  }

  private pickFor(tried: Set<string>): LbReplica | undefined {
    return this.picker.pick((r) => !tried.has(r.url) && !this.ejected.has(r.url));
  }

  /**
   * One attempt at `r`. `retry(why)` is asked when it failed before the response started:
   * 'unsent' when the request cannot have reached the app, 'lost' when it may have.
   */
  private send(
    r: LbReplica,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    t0: number,
    o: { first: boolean; body?: Buffer[]; keep: (c: Buffer) => void; retry: (why: 'unsent' | 'lost') => boolean },
  ): void {
    const t = this.target(r.url);
    this.track(r.url, +1);
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      this.track(r.url, -1);
    };
    let body: Dispatcher.DispatchOptions['body'] = null;
    if (o.body !== undefined) body = o.body.length === 1 ? o.body[0]! : Buffer.concat(o.body);
    else if (!req.readableEnded && (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined)) {
      // Read as undici writes it, each chunk kept for a retry; an iterator that leaves the request
      // open when undici stops early, so a retry can still read the rest.
      body = Readable.from(
        (async function* () {
          for await (const c of req.iterator({ destroyOnReturn: false })) {
            o.keep(c as Buffer);
            yield c as Buffer;
          }
        })(),
        { objectMode: false },
      );
    }
    // undici calls onRequestStart once the request is being written on a connected socket:
    // an error before it means the app cannot have seen the request.
    let controller: Dispatcher.DispatchController | undefined;
    let gone = false;
    let responded = false;
    // The answer's start, held back to go out in one write with the headers: a small body of known
    // length until it is whole; anything else (SSE, chunked tokens, a large body) only for what
    // arrives in the same turn of the event loop as the headers — a short chunked answer is then
    // one write, not two, and a stream's headers and first event still leave at once.
    let held: Buffer[] | undefined;
    let heldBytes = 0;
    let flushTimer: NodeJS.Immediate | undefined;
    const write = (c: Dispatcher.DispatchController, chunk: Buffer) => {
      if (!res.write(chunk)) {
        c.pause();
        res.once('drain', () => c.resume());
      }
    };
    const flushHeld = (c: Dispatcher.DispatchController) => {
      flushTimer = undefined;
      const h = held;
      held = undefined;
      if (!h || res.destroyed) return;
      if (h.length === 0) res.flushHeaders();
      else write(c, h.length === 1 ? h[0]! : Buffer.concat(h));
    };
    res.once('close', () => {
      if (flushTimer) clearImmediate(flushTimer);
      if (res.writableFinished) return;
      gone = true;
      controller?.abort(new Error('client went away'));
    });
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: (c) => {
        controller = c;
        if (gone) c.abort(new Error('client went away'));
      },
      onResponseStart: (c, status, headers, statusMessage) => {
        responded = true;
        this.stats.latency(performance.now() - t0);
        if (res.destroyed) return c.abort(new Error('client went away'));
        res.writeHead(status, statusMessage, Array.isArray(c.rawHeaders) ? responseHeaders(c.rawHeaders) : responseHeaders(flat(headers)));
        const length = Number(headers['content-length'] ?? NaN);
        held = [];
        if (!(length <= SMALL_BODY)) flushTimer = setImmediate(flushHeld, c);
      },
      onResponseData: (c, chunk) => {
        if (!held) return write(c, chunk);
        held.push(chunk);
        heldBytes += chunk.length;
        if (flushTimer && heldBytes > SMALL_BODY) {
          clearImmediate(flushTimer);
          flushHeld(c);
        }
      },
      onResponseEnd: () => {
        done();
        if (flushTimer) clearImmediate(flushTimer);
        flushTimer = undefined;
        // whole within the turn: headers and body in one write
        if (held) res.end(held.length === 1 ? held[0] : Buffer.concat(held));
        else res.end();
        held = undefined;
      },
      onResponseError: (_c, err: NodeJS.ErrnoException) => {
        done();
        // The replica died mid-response: the client must see a broken response, not a short one.
        if (responded || res.headersSent || gone) return void res.destroy();
        const code = err.code ?? '';
        const unsent = controller === undefined;
        if (unsent && REFUSED.has(code)) this.eject(r.url, `${code} on connect`);
        else if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') this.checkSoon(r.url);
        if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return this.fail(res, 504, `replica ${r.id} sent nothing for ${this.cfg.streamTimeoutMs / 1000}s`);
        if (o.retry(unsent ? 'unsent' : 'lost')) return;
        this.fail(res, 502, `replica ${r.id} failed: ${code || err.message}`);
      },
    };
    try {
      t.pool.dispatch(
        {
          origin: t.origin,
          path: req.url ?? '/',
          method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
          headers: forwardHeaders(req),
          body,
          headersTimeout: this.cfg.streamTimeoutMs,
          bodyTimeout: this.cfg.streamTimeoutMs,
        },
        handler,
      );
    } catch (err) {
      // undici refuses what it cannot send (a header value with a newline, an unknown method)
      done();
      this.fail(res, 400, `cannot forward the request: ${(err as Error).message}`);
    }
  }

  private fail(res: http.ServerResponse, status: number, why: string): void {
    this.stats.errors++;
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const body = JSON.stringify({ detail: why });
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  // ---- websockets and other upgrades ----

  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    this.stats.arrive();
    const t0 = performance.now();
    const tried = new Set<string>();
    let gone = false;
    socket.once('close', () => (gone = true));
    socket.on('error', () => socket.destroy());
    const attempt = async (): Promise<void> => {
      let r = this.pickFor(tried);
      if (!r) {
        const changed = await this.waitForReplica(() => gone, (x) => !tried.has(x.url));
        if (gone) return;
        r = changed ? this.pickFor(tried) : undefined;
        if (!r) {
          this.stats.errors++;
          socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
          return;
        }
      }
      tried.add(r.url);
      const t = this.target(r.url);
      const up = http.request({ host: t.host, port: t.port, method: req.method, path: req.url, headers: [...forwardHeaders(req), 'connection', 'Upgrade', 'upgrade', req.headers.upgrade ?? ''], agent: false });
      let connected = false;
      up.on('socket', (s: net.Socket) => s.once('connect', () => (connected = true)));
      up.on('upgrade', (ur, upSocket, upHead) => {
        this.stats.latency(performance.now() - t0);
        this.track(r.url, +1);
        socket.write(statusBlock(101, ur.statusMessage ?? 'Switching Protocols', ur.rawHeaders));
        if (upHead.length) socket.write(upHead);
        if (head.length) upSocket.write(head);
        upSocket.setNoDelay(true);
        upSocket.pipe(socket).pipe(upSocket);
        let closed = false;
        const close = () => {
          if (closed) return;
          closed = true;
          this.track(r.url, -1);
          upSocket.destroy();
          socket.destroy();
        };
        upSocket.on('error', close);
        upSocket.on('close', close);
        socket.on('close', close);
        // One side ended: the pipe passes that on; the pair goes once both have, or 5 s later.
        let ends = 0;
        const onEnd = () => {
          if (++ends === 2) close();
          else setTimeout(close, 5000).unref();
        };
        upSocket.once('end', onEnd);
        socket.once('end', onEnd);
      });
      up.on('response', (ur) => {
        // the replica answered without upgrading: pass its answer on
        socket.write(statusBlock(ur.statusCode ?? 502, ur.statusMessage ?? '', ur.rawHeaders, true));
        ur.pipe(socket);
      });
      up.on('error', (err: NodeJS.ErrnoException) => {
        if (!connected && REFUSED.has(err.code ?? '')) {
          this.eject(r.url, `${err.code} on connect`);
          if (tried.size < MAX_ATTEMPTS) return void attempt();
        }
        socket.destroy();
      });
      up.end();
    };
    void attempt();
  }

  // ---- replicas: pools, in-flight counts, ejection ----

  private target(url: string): Target {
    let t = this.targets.get(url);
    if (!t) {
      const u = new URL(url);
      t = {
        host: u.hostname,
        port: Number(u.port || 80),
        origin: u.origin,
        pool: new Pool(u.origin, { connections: null, pipelining: 1, keepAliveTimeout: 15_000 }),
      };
      this.targets.set(url, t);
    }
    return t;
  }

  private track(url: string, d: number): void {
    const n = (this.inflight.get(url) ?? 0) + d;
    if (n > 0) this.inflight.set(url, n);
    else {
      this.inflight.delete(url);
      if (!this.cfg.replicas.some((r) => r.url === url)) this.retire(url);
    }
  }

  /** Out of the config: close its idle connections now and the pool once nothing is in flight. */
  private retire(url: string): void {
    const t = this.targets.get(url);
    if (!t) return;
    if ((this.inflight.get(url) ?? 0) > 0) return; // the last request to end calls this again
    void t.pool.close().catch(() => undefined);
    this.targets.delete(url);
  }

  /** Out of rotation until it accepts connections again (rechecked every 250 ms). */
  eject(url: string, reason: string): void {
    if (this.ejected.has(url) || !this.cfg.replicas.some((r) => r.url === url)) return;
    const timer = setInterval(() => void this.recheck(url), 250);
    timer.unref();
    this.ejected.set(url, { since: Date.now(), timer });
    this.hooks.log(`ejected ${url}: ${reason}`);
    this.hooks.emit({ type: 'ejected', url, ts: Date.now(), reason });
  }

  private restore(url: string, announce = true): void {
    const e = this.ejected.get(url);
    if (!e) return;
    clearInterval(e.timer);
    this.ejected.delete(url);
    if (announce) {
      this.hooks.log(`restored ${url}: it accepts connections again`);
      this.hooks.emit({ type: 'restored', url, ts: Date.now() });
      this.wakeWaiters();
    }
  }

  private async recheck(url: string): Promise<void> {
    if (await connects(url)) this.restore(url);
  }

  /** A connection was reset: the replica may have died; eject it if it refuses a new connection. */
  private checkSoon(url: string): void {
    void connects(url).then((ok) => {
      if (!ok) this.eject(url, 'connection reset, and it refuses new connections');
    });
  }

  // ---- waiting for a replica ----

  private wakeWaiters(): void {
    const ws = this.waiters;
    this.waiters = new Set();
    for (const w of ws) w();
  }

  /** Resolves true when a replica `ok` accepts could take the request, false after holdMs. */
  private waitForReplica(gone: () => boolean, ok: (r: LbReplica) => boolean): Promise<boolean> {
    this.demand();
    return new Promise((resolve) => {
      const deadline = Date.now() + this.cfg.holdMs;
      const check = () => {
        if (gone()) return finish(false);
        if (this.cfg.replicas.some((r) => ok(r) && !this.ejected.has(r.url))) return finish(true);
        if (Date.now() >= deadline) return finish(false);
        this.demand();
        this.waiters.add(check);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        check();
      }, this.cfg.holdMs);
      // a client that gives up stops waiting (and is not counted as waiting)
      const poll = setInterval(() => {
        if (gone()) {
          this.waiters.delete(check);
          finish(false);
        }
      }, 1000);
      const finish = (v: boolean) => {
        clearTimeout(timer);
        clearInterval(poll);
        resolve(v);
      };
      this.waiters.add(check);
    });
  }

  /** Tells the controller someone waits (at most every 500 ms). */
  private demand(): void {
    const now = Date.now();
    if (now - this.lastDemand < 500) return;
    this.lastDemand = now;
    this.hooks.emit({ type: 'demand', ts: now });
  }

  close(): void {
    for (const e of this.ejected.values()) clearInterval(e.timer);
    for (const t of this.targets.values()) void t.pool.destroy().catch(() => undefined);
  }
}

/** The request's headers minus hop-by-hop ones, plus X-Forwarded-For, as a flat [name, value, ...] list. */
function forwardHeaders(req: http.IncomingMessage): string[] {
  const out: string[] = [];
  const raw = req.rawHeaders;
  let xff: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const lk = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lk)) continue;
    if (lk === 'x-forwarded-for') xff = xff === undefined ? raw[i + 1]! : `${xff}, ${raw[i + 1]!}`;
    else out.push(raw[i]!, raw[i + 1]!);
  }
  const ip = req.socket.remoteAddress;
  if (ip) xff = xff === undefined ? ip : `${xff}, ${ip}`;
  if (xff !== undefined) out.push('x-forwarded-for', xff);
  return out;
}

/** The replica's response headers minus hop-by-hop ones, as a flat [name, value, ...] list. */
function responseHeaders(raw: ReadonlyArray<Buffer | string> | null | undefined): string[] {
  const out: string[] = [];
  if (!raw) return out;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toString('latin1');
    if (!HOP_BY_HOP.has(k.toLowerCase())) out.push(k, raw[i + 1]!.toString('latin1'));
  }
  return out;
}

function flat(headers: Record<string, string | string[] | undefined>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(headers)) for (const x of Array.isArray(v) ? v : v === undefined ? [] : [v]) out.push(k, x);
  return out;
}

function statusBlock(status: number, message: string, raw: string[], close = false): string {
  let s = `HTTP/1.1 ${status} ${message}\r\n`;
  for (let i = 0; i < raw.length; i += 2) {
    if (close && raw[i]!.toLowerCase() === 'connection') continue;
    s += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  if (close) s += 'connection: close\r\n';
  return s + '\r\n';
}

/** Whether something accepts TCP connections at the URL's address (within 500 ms). */
export function connects(url: string, timeoutMs = 500): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port || 80) });
    const t = setTimeout(() => finish(false), timeoutMs);
    s.once('connect', () => finish(true));
    s.once('error', () => finish(false));
    function finish(ok: boolean) {
      clearTimeout(t);
      s.destroy();
      resolve(ok);
    }
  });
}
