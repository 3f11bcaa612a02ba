// HTTP + websocket on the daemon's unix socket, and (team mode) on TCP. Routes are versioned:
//   POST /v1/rpc/<method>     typed request/response (protocol/api.ts)
//   GET  /v1/stream/<name>    ndjson streams (request progress, logs)
//   GET  /v1/events?since=N   websocket: snapshot (or missed events), then changes
//   POST /v1/upload           a tar stream (a remote client's workdir or file mount)
// Who asks is decided here, once: the unix socket (0600 in a 0700 dir) is the daemon's own user,
// an admin; over TCP every request — websocket upgrades included — needs a bearer token, is
// rate-limited per token and size-limited. Browsers are kept out: a websocket upgrade that carries
// an Origin header is refused. With PostgreSQL state, nothing leaves the process (answer, stream
// item, event) before the state it reflects is durable (Store.durable).

import http from 'node:http';
import https from 'node:https';
import { chmodSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiErrorBody, EventStreamMessage } from '../protocol/api.js';
import type { StateEvent } from '../protocol/model.js';
import { UserError, errorMessage } from '../util/errors.js';
import type { Store } from './store.js';
import type { Logger } from './log.js';
import { localCaller, type Caller } from './team/caller.js';
import { RateLimiter, type RateLimit } from './team/ratelimit.js';
import { formatLimit } from './team/uploads.js';

export type RpcHandler = (params: any, caller: Caller) => Promise<unknown> | unknown;
/** A stream handler writes items with `send` and resolves when the stream is over. */
export type StreamHandler = (
  query: URLSearchParams,
  send: (item: unknown) => void,
  signal: AbortSignal,
  caller: Caller,
) => Promise<void>;

export interface ServerDeps {
  store: Store;
  log: Logger;
  rpc: Map<string, RpcHandler>;
  streams: Map<string, StreamHandler>;
  /** who a request over the unix socket is (default: the daemon's OS user, an admin) */
  localCaller?: Caller;
  /** a bearer token's caller, or undefined (unknown, revoked) */
  authenticate?: (token: string) => Omit<Caller, 'remote' | 'address'> | undefined;
  rateLimit?: RateLimit;
  /** request bodies over TCP */
  maxBodyBytes?: number;
  maxUploadBytes?: number;
  /** behind a reverse proxy: the client address comes from X-Forwarded-For */
  trustForwarded?: boolean;
  upload?: (body: Readable, caller: Caller, maxBytes: number) => Promise<unknown>;
  /** called for every RPC after it ran (or was refused) */
  onCalled?: (caller: Caller, method: string, params: unknown, outcome: { result?: unknown; error?: unknown }) => void;
}

type Via = 'unix' | 'tcp';

/** A task is a few KB; this is far above any real call and refused with 413 (protocol/limits.ts). */
const MAX_BODY_UNIX = 16 * 1024 * 1024;
const UNAUTHORIZED = JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'unauthorized' } });

export class ApiServer {
  private server: http.Server;
  private tcp?: http.Server;
  private wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  private sockets = new Set<Duplex>();
  private limiter?: RateLimiter;
  private readonly local: Caller;

  constructor(private deps: ServerDeps) {
    this.local = deps.localCaller ?? localCaller();
    if (deps.rateLimit) this.limiter = new RateLimiter(deps.rateLimit);
    this.server = this.wire(http.createServer(), 'unix');
  }

  private wire<S extends http.Server>(server: S, via: Via): S {
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => void this.onRequest(req, res, via));
    server.keepAliveTimeout = 60_000;
    // A client that sends its request slowly (or never finishes it) is cut off; answers (log
    // streams) are not bounded by these. (TCP uploads raise requestTimeout: listenTcp.)
    server.headersTimeout = 20_000;
    server.requestTimeout = 60_000;
    server.on('connection', (s: Duplex) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head, via));
    return server;
  }

  /** Binds the socket; fails with EADDRINUSE if the path exists (the caller clears stale ones). */
  listen(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      // umask-independent: tighten right after bind, before we announce readiness.
      this.server.listen(path, () => {
        chmodSync(path, 0o600);
        resolve();
      });
    });
  }

  /** Team mode: also serve on TCP (HTTPS with a cert and key). Resolves with the URL. */
  listenTcp(opts: { host: string; port: number; tls?: { cert: string; key: string } }): Promise<string> {
    if (!this.deps.authenticate) throw new Error('serving on TCP needs token authentication');
    const server = opts.tls
      ? https.createServer({ cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) })
      : http.createServer();
    this.tcp = this.wire(server, 'tcp');
    // Large uploads over slow links: bounded by size, not by the minute an RPC body gets.
    server.requestTimeout = 3_600_000;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        const a = server.address() as AddressInfo;
        const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
        resolve(`${opts.tls ? 'https' : 'http'}://${host}:${a.port}`);
      });
    });
  }

  close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    for (const s of this.sockets) s.destroy();
    const closing = [this.server, this.tcp].filter((s): s is http.Server => !!s).map((s) => new Promise<void>((r) => s.close(() => r())));
    return Promise.all(closing).then(() => undefined);
  }

  /** The caller of a request, or undefined when a TCP request has no valid token. */
  private callerOf(req: http.IncomingMessage, via: Via): Caller | undefined {
    if (via === 'unix') return this.local;
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const who = m ? this.deps.authenticate?.(m[1]!) : undefined;
    if (!who) return undefined;
    const forwarded = this.deps.trustForwarded ? String(req.headers['x-forwarded-for'] ?? '').split(',')[0]?.trim() : '';
    const proto = this.deps.trustForwarded ? String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]?.trim() : '';
    const address = (forwarded || req.socket.remoteAddress) ?? undefined;
    return { ...who, remote: true, ...(address ? { address: proto ? `${proto}://${address}` : address } : {}) };
  }

  /** 0 when the caller may go on, else milliseconds to wait (per token). */
  private throttle(caller: Caller): number {
    return caller.remote && caller.tokenId && this.limiter ? this.limiter.take(caller.tokenId) : 0;
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse, via: Via): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://aloft');
    const parts = url.pathname.split('/').filter(Boolean);
    const caller = this.callerOf(req, via);
    if (!caller) {
      // One line, the same for a missing, unknown or revoked token; the body is never read.
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer', connection: 'close' });
      res.end(UNAUTHORIZED);
      return;
    }
    const wait = this.throttle(caller);
    if (wait > 0) {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(Math.ceil(wait / 1000)), connection: 'close' });
      res.end(JSON.stringify({ error: { code: 'RATE_LIMITED', message: `too many requests for this token; retry in ${Math.ceil(wait / 1000)}s` } }));
      return;
    }
    let method: string | undefined;
    let body: unknown;
    try {
      if (parts[0] !== 'v1') throw new ApiError(404, 'NOT_FOUND', `unknown API version in ${url.pathname} (this daemon speaks v1)`);
      if (parts[1] === 'rpc' && parts.length === 3 && req.method === 'POST') {
        const handler = this.deps.rpc.get(parts[2]!);
        if (!handler) throw new ApiError(404, 'UNKNOWN_METHOD', `unknown method '${parts[2]}'`);
        method = parts[2]!;
        body = await readJson(req, via === 'unix' ? MAX_BODY_UNIX : (this.deps.maxBodyBytes ?? MAX_BODY_UNIX));
        const result = await handler(body, caller); // undefined body: an empty one, "no parameters"
        this.deps.onCalled?.(caller, method, body ?? {}, { result });
        await this.deps.store.durable();
        const text = JSON.stringify(result ?? {});
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      if (parts[1] === 'stream' && parts.length === 3 && req.method === 'GET') {
        const handler = this.deps.streams.get(parts[2]!);
        if (!handler) throw new ApiError(404, 'UNKNOWN_STREAM', `unknown stream '${parts[2]}'`);
        await this.runStream(handler, url.searchParams, caller, res);
        return;
      }
      if (parts[1] === 'upload' && parts.length === 2 && req.method === 'POST' && this.deps.upload) {
        const max = this.deps.maxUploadBytes ?? 1024 ** 3;
        if (Number(req.headers['content-length'] ?? 0) > max) throw new ApiError(413, 'TOO_LARGE', `upload larger than the server's limit (${formatLimit(max)})`);
        const result = await this.deps.upload(req, caller, max);
        const text = JSON.stringify(result);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      throw new ApiError(404, 'NOT_FOUND', `no route ${req.method} ${url.pathname}`);
    } catch (err) {
      if (method) this.deps.onCalled?.(caller, method, body ?? {}, { error: err });
      // A handler may have changed state before it failed: the answer waits for it as well.
      await this.deps.store.durable().catch(() => undefined);
      this.sendError(res, err);
    }
  }

  private async runStream(handler: StreamHandler, query: URLSearchParams, caller: Caller, res: http.ServerResponse): Promise<void> {
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    let started = false;
    const write = (item: unknown) => {
      if (!started) {
        res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
        started = true;
      }
      if (!res.writableEnded && !abort.signal.aborted) res.write(JSON.stringify(item) + '\n');
    };
    // With PostgreSQL state, each item leaves once the state it may reflect is durable, in order.
    const { store } = this.deps;
    let chain = Promise.resolve();
    const send = store.defersDurability
      ? (item: unknown) => {
          chain = chain.then(() => store.durable()).then(() => write(item), () => abort.abort());
        }
      : write;
    try {
      await handler(query, send, abort.signal, caller);
      await chain;
      if (!started) res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end();
    } catch (err) {
      await chain;
      if (started) {
        // Headers are gone; report the failure in-band so the client still gets one clear line.
        write({ type: 'error', error: toErrorBody(err).error });
        res.end();
      } else {
        this.sendError(res, err);
      }
    }
  }

  private sendError(res: http.ServerResponse, err: unknown): void {
    const status = statusOf(err);
    if (status === 500) this.deps.log.error({ err: errorMessage(err), stack: (err as Error)?.stack }, 'request failed');
    const text = JSON.stringify(toErrorBody(err));
    if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json' });
    res.end(text);
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, via: Via): void {
    const url = new URL(req.url ?? '/', 'http://aloft');
    if (req.headers.origin !== undefined) {
      // A browser page can reach unix sockets only through a local proxy; refuse it anyway.
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\nwebsocket upgrades with an Origin header are refused\n');
      return;
    }
    // The same check as any request over TCP: a token, and the token's rate.
    const caller = this.callerOf(req, via);
    if (!caller) {
      socket.end(`HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\nwww-authenticate: Bearer\r\nconnection: close\r\n\r\n${UNAUTHORIZED}`);
      return;
    }
    const wait = this.throttle(caller);
    if (wait > 0) {
      socket.end(`HTTP/1.1 429 Too Many Requests\r\nretry-after: ${Math.ceil(wait / 1000)}\r\nconnection: close\r\n\r\n`);
      return;
    }
    if (url.pathname !== '/v1/events') {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onEventsSocket(ws, url.searchParams));
  }

  private onEventsSocket(ws: WebSocket, query: URLSearchParams): void {
    const { store } = this.deps;
    const sinceText = query.get('since') ?? '0';
    if (!/^\d{1,15}$/.test(sinceText)) {
      ws.close(1008, 'since must be an event sequence number (0 for a snapshot)');
      return;
    }
    // Past the last event (a client of another database, or a reset one): it gets a snapshot.
    const since = Number(sinceText) > store.currentSeq ? 0 : Number(sinceText);
    const sendNow = (msg: EventStreamMessage) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
    };
    // With PostgreSQL state an event leaves once it is durable: a client never sees a change a
    // crash could take back (it would resume past numbers the restarted daemon hands out again).
    let chain = Promise.resolve();
    const send = store.defersDurability
      ? (msg: EventStreamMessage) => {
          chain = chain.then(() => store.durable()).then(() => sendNow(msg), () => ws.terminate());
        }
      : sendNow;
    // Subscribe before reading so nothing falls between the snapshot and the live feed.
    const buffered: StateEvent[] = [];
    let live = false;
    let lastSent = 0;
    const onEvent = (e: StateEvent) => {
      if (!live) buffered.push(e);
      else if (e.seq > lastSent) {
        lastSent = e.seq;
        send({ type: 'event', event: e });
      }
    };
    store.on('event', onEvent);
    ws.on('close', () => store.off('event', onEvent));
    ws.on('error', () => store.off('event', onEvent));

    const missed = since > 0 ? store.eventsSince(since) : undefined;
    if (missed) {
      for (const e of missed) send({ type: 'event', event: e });
      lastSent = missed.length > 0 ? missed[missed.length - 1]!.seq : since;
    } else {
      const snapshot = store.snapshot();
      send({ type: 'snapshot', snapshot });
      lastSent = snapshot.seq;
    }
    live = true;
    for (const e of buffered) if (e.seq > lastSent) onEvent(e);
  }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function statusOf(err: unknown): number {
  if (err instanceof ApiError) return err.status;
  const own = (err as { status?: unknown })?.status;
  if (err instanceof UserError) return typeof own === 'number' ? own : 400;
  return agentRefused(err) ? 400 : 500;
}

/**
 * An agent's answer that the caller can act on (a job that cannot fit, an agent shutting down, a
 * dropped connection), as opposed to a failure inside the agent.
 */
function agentRefused(err: unknown): boolean {
  const e = err as { name?: string; code?: string };
  return e?.name === 'AgentError' && e.code !== 'INTERNAL';
}

function toErrorBody(err: unknown): ApiErrorBody {
  if (err instanceof ApiError) return { error: { code: err.code, message: err.message } };
  if (err instanceof UserError) return { error: { code: err.code, message: err.message } };
  if (agentRefused(err)) return { error: { code: (err as { code: string }).code, message: errorMessage(err) } };
  return { error: { code: 'INTERNAL', message: errorMessage(err) } };
}

function readJson(req: http.IncomingMessage, max: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => {
      // Answer at once and stop keeping what arrives. The rest is read and dropped (requestTimeout
      // bounds how long) rather than the connection reset under a client still sending, which
      // would lose the 413.
      req.removeAllListeners('data');
      req.resume();
      reject(new ApiError(413, 'TOO_LARGE', `request body larger than the server's limit (${formatLimit(max)})`));
    };
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) return tooLarge();
      chunks.push(c);
    });
    req.on('end', () => {
      if (size === 0) return resolve(undefined);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new ApiError(400, 'BAD_JSON', 'request body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}
