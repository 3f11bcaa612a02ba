// HTTP + websocket on the daemon's unix socket. Routes are versioned (/v1/...):
//   POST /v1/rpc/<method>     typed request/response (protocol/api.ts)
//   GET  /v1/stream/<name>    ndjson streams (request progress, logs)
//   GET  /v1/events?since=N   websocket: snapshot (or missed events), then changes
// Browsers are kept out: a websocket upgrade that carries an Origin header is refused, and
// the socket file is 0600 inside a 0700 directory.

import http from 'node:http';
import { chmodSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiErrorBody, EventStreamMessage } from '../protocol/api.js';
import type { StateEvent } from '../protocol/model.js';
import { UserError, errorMessage } from '../util/errors.js';
import type { Store } from './store.js';
import type { Logger } from './log.js';

export type RpcHandler = (params: any) => Promise<unknown> | unknown;
/** A stream handler writes items with `send` and resolves when the stream is over. */
export type StreamHandler = (
  query: URLSearchParams,
  send: (item: unknown) => void,
  signal: AbortSignal,
) => Promise<void>;

export interface ServerDeps {
  store: Store;
  log: Logger;
  rpc: Map<string, RpcHandler>;
  streams: Map<string, StreamHandler>;
}

/** A task is a few KB; this is far above any real call and refused with 413 (protocol/limits.ts). */
const MAX_BODY = 16 * 1024 * 1024;

export class ApiServer {
  private server: http.Server;
  private wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  private sockets = new Set<Duplex>();

  constructor(private deps: ServerDeps) {
    this.server = http.createServer((req, res) => void this.onRequest(req, res));
    this.server.keepAliveTimeout = 60_000;
    // A client that sends its request slowly (or never finishes it) is cut off; answers (log
    // streams) are not bounded by these.
    this.server.headersTimeout = 20_000;
    this.server.requestTimeout = 60_000;
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
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

  close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://aloft');
    const parts = url.pathname.split('/').filter(Boolean);
    try {
      if (parts[0] !== 'v1') throw new ApiError(404, 'NOT_FOUND', `unknown API version in ${url.pathname} (this daemon speaks v1)`);
      if (parts[1] === 'rpc' && parts.length === 3 && req.method === 'POST') {
        const handler = this.deps.rpc.get(parts[2]!);
        if (!handler) throw new ApiError(404, 'UNKNOWN_METHOD', `unknown method '${parts[2]}'`);
        const body = await readJson(req);
        const result = await handler(body); // undefined: an empty body, "no parameters"
        const text = JSON.stringify(result ?? {});
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      if (parts[1] === 'stream' && parts.length === 3 && req.method === 'GET') {
        const handler = this.deps.streams.get(parts[2]!);
        if (!handler) throw new ApiError(404, 'UNKNOWN_STREAM', `unknown stream '${parts[2]}'`);
        await this.runStream(handler, url.searchParams, req, res);
        return;
      }
      throw new ApiError(404, 'NOT_FOUND', `no route ${req.method} ${url.pathname}`);
    } catch (err) {
      this.sendError(res, err);
    }
  }

  private async runStream(
    handler: StreamHandler,
    query: URLSearchParams,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<void> {
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    let started = false;
    const send = (item: unknown) => {
      if (!started) {
        res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
        started = true;
      }
      if (!res.writableEnded && !abort.signal.aborted) res.write(JSON.stringify(item) + '\n');
    };
    try {
      await handler(query, send, abort.signal);
      if (!started) res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end();
    } catch (err) {
      if (started) {
        // Headers are gone; report the failure in-band so the client still gets one clear line.
        send({ type: 'error', error: toErrorBody(err).error });
        res.end();
      } else {
        this.sendError(res, err);
      }
    }
    void req;
  }

  private sendError(res: http.ServerResponse, err: unknown): void {
    const status = err instanceof ApiError ? err.status : err instanceof UserError || agentRefused(err) ? 400 : 500;
    if (status === 500) this.deps.log.error({ err: errorMessage(err), stack: (err as Error)?.stack }, 'request failed');
    const text = JSON.stringify(toErrorBody(err));
    if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json' });
    res.end(text);
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://aloft');
    if (req.headers.origin !== undefined) {
      // A browser page can reach unix sockets only through a local proxy; refuse it anyway.
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\nwebsocket upgrades with an Origin header are refused\n');
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
    const send = (msg: EventStreamMessage) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
    };
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

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => {
      // Answer at once and stop keeping what arrives. The rest is read and dropped (requestTimeout
      // bounds how long) rather than the connection reset under a client still sending, which
      // would lose the 413.
      req.removeAllListeners('data');
      req.resume();
      reject(new ApiError(413, 'TOO_LARGE', `request body larger than ${MAX_BODY / 1024 / 1024} MiB`));
    };
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) return tooLarge();
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
