// HTTP to the daemon: over its unix socket, or (team mode) to an API server over TCP/TLS with a
// bearer token. No dependencies (this is on the CLI's start-up path).
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { eachLine } from '../util/lines.js';

export class DaemonUnreachable extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
  }
}

/**
 * The daemon took the connection but did not answer in time: it is alive and busy (or stopped),
 * which is not the same as gone. Such a daemon is waited for, never replaced (spawn.ts).
 */
export class DaemonBusy extends DaemonUnreachable {}


export class ApiCallError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Where the daemon is: a unix socket path (the local daemon), or a remote API server. */
export type Endpoint = { kind: 'unix'; socket: string } | { kind: 'tcp'; url: string; token?: string };
export type Target = string | Endpoint;

const asEndpoint = (t: Target): Endpoint => (typeof t === 'string' ? { kind: 'unix', socket: t } : t);
export const describeEndpoint = (t: Target): string => {
  const e = asEndpoint(t);
  return e.kind === 'unix' ? e.socket : e.url;
};

const agent = new http.Agent({ keepAlive: true });
const httpsAgent = new https.Agent({ keepAlive: true });
/** Errors that mean "nobody serves this socket or address (any more)": the daemon is gone or going. */
const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'EPIPE']);
/** 429s are waited out this many times before the call fails. */
const RATE_RETRIES = 3;

function request(t: Target, path: string, opts: http.RequestOptions, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
  const e = asEndpoint(t);
  if (e.kind === 'unix') return http.request({ ...opts, socketPath: e.socket, path, agent }, onResponse);
  const url = new URL(path, e.url.endsWith('/') ? e.url : `${e.url}/`);
  // A path under the endpoint's own path (a server behind a proxy prefix) keeps that prefix.
  const base = new URL(e.url);
  if (base.pathname !== '/' && base.pathname !== '') url.pathname = base.pathname.replace(/\/$/, '') + path.split('?')[0];
  const headers = { ...(opts.headers as Record<string, string>), ...(e.token ? { authorization: `Bearer ${e.token}` } : {}) };
  const secure = url.protocol === 'https:';
  return (secure ? https : http).request(url, { ...opts, headers, agent: secure ? httpsAgent : agent }, onResponse);
}

function unreachable(t: Target, err: NodeJS.ErrnoException): DaemonUnreachable | undefined {
  if (!err.code || !UNREACHABLE.has(err.code)) return undefined;
  const e = asEndpoint(t);
  return new DaemonUnreachable(
    e.kind === 'unix' ? `daemon not reachable at ${e.socket} (${err.code})` : `API server not reachable at ${e.url} (${err.code})`,
    err,
  );
}

/** The error a non-2xx answer stands for; 401 says how to get a token instead of the server's word. */
function answerError(t: Target, status: number, body: string): ApiCallError {
  let e: { code?: string; message?: string } | undefined;
  try {
    e = (JSON.parse(body) as { error?: { code: string; message: string } }).error;
  } catch {
    /* not JSON */
  }
  if (status === 401) {
    return new ApiCallError(`the API server at ${describeEndpoint(t)} refused the token (unauthorized); log in with \`aloft api login URL --token TOKEN\``, 'UNAUTHORIZED', 401);
  }
  return new ApiCallError(e?.message ?? `HTTP ${status}`, e?.code ?? 'ERROR', status);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function postJson(target: Target, path: string, body: unknown, timeoutMs = 0): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await postOnce(target, path, body, timeoutMs);
    } catch (err) {
      if (!(err instanceof RateLimited) || attempt >= RATE_RETRIES) throw err instanceof RateLimited ? err.error : err;
      await sleep(err.retryAfterMs);
    }
  }
}

class RateLimited extends Error {
  constructor(
    readonly retryAfterMs: number,
    readonly error: ApiCallError,
  ) {
    super(error.message);
  }
}

function postOnce(target: Target, path: string, body: unknown, timeoutMs: number): Promise<unknown> {
  const data = JSON.stringify(body ?? {});
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      path,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(data)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 500;
          if (status === 429) {
            return reject(new RateLimited(Number(res.headers['retry-after'] ?? '1') * 1000, answerError(target, status, text)));
          }
          if (status >= 400) return reject(answerError(target, status, text));
          try {
            resolve(text ? JSON.parse(text) : {});
          } catch {
            reject(new ApiCallError(`daemon answered non-JSON (${status})`, 'BAD_RESPONSE', status));
          }
        });
        res.on('error', reject);
      },
    );
    if (timeoutMs > 0) req.setTimeout(timeoutMs, () => req.destroy(new DaemonBusy(`daemon did not answer within ${timeoutMs / 1000}s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof DaemonUnreachable) return reject(err);
      // EAGAIN: the socket's backlog is full, the daemon accepts nothing for now.
      if (err.code === 'EAGAIN') return reject(new DaemonBusy(`daemon not accepting connections at ${describeEndpoint(target)} (EAGAIN)`, err));
      reject(unreachable(target, err) ?? err);
    });
    req.end(data);
  });
}

/** POSTs a stream (a tar of a workdir) and answers the JSON reply. */
export function postStream(target: Target, path: string, body: Readable, contentType: string, headers: Record<string, string> = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(target, path, { method: 'POST', headers: { ...headers, 'content-type': contentType } }, (res) => {
      // An early answer (413: too large) ends the upload: stop sending, and drop the connection
      // once the answer is read; a write the server refused after that is not our error.
      answered = true;
      body.destroy();
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (!req.writableFinished) {
          req.socket?.on('error', () => undefined);
          req.destroy();
        }
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 500) >= 400) return reject(answerError(target, res.statusCode ?? 500, text));
        try {
          resolve(JSON.parse(text));
        } catch {
          reject(new ApiCallError(`daemon answered non-JSON (${res.statusCode})`, 'BAD_RESPONSE', res.statusCode ?? 0));
        }
      });
      res.on('error', reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => reject(unreachable(target, err) ?? err));
    // By hand rather than pipe(): the body may be a streamx stream (tar-stream), and the upload
    // must stop the moment the server has answered.
    body.on('data', (chunk: Buffer) => {
      if (answered) return;
      if (!req.write(chunk)) {
        body.pause();
        req.once('drain', () => body.resume());
      }
    });
    body.on('end', () => {
      if (!answered) req.end();
    });
    body.on('error', (err) => {
      if (!answered) req.destroy(err);
    });
  });
}

/** GET an ndjson stream; `onItem` for each line. Resolves at the end of the stream. */
export function getNdjson(target: Target, path: string, onItem: (item: any) => void, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(target, path, { method: 'GET' }, (res) => {
      if ((res.statusCode ?? 500) >= 400) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => reject(answerError(target, res.statusCode ?? 500, Buffer.concat(chunks).toString('utf8'))));
        return;
      }
      eachLine(res, (line) => {
        const item = JSON.parse(line);
        if (item && item.type === 'error' && item.error) {
          reject(new ApiCallError(item.error.message, item.error.code, 200));
          req.destroy();
          return false;
        }
        onItem(item);
      });
      // Aborting on purpose (ctrl-c) is a clean end, not an error.
      res.on('end', () => resolve());
      res.on('error', (err) => (signal?.aborted ? resolve() : reject(err)));
      res.on('aborted', () => (signal?.aborted ? resolve() : reject(new DaemonUnreachable('daemon closed the stream'))));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (signal?.aborted) return resolve();
      reject(unreachable(target, err) ?? err);
    });
    signal?.addEventListener('abort', () => req.destroy(), { once: true });
    req.end();
  });
}
