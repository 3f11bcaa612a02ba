// HTTP over the daemon's unix socket, with no dependencies (this is on the CLI's start-up path).
import http from 'node:http';

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

/** Errors that mean "nobody serves this socket (any more)": the daemon is gone or going. */
const GONE = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

export class ApiCallError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const agent = new http.Agent({ keepAlive: true });

export function postJson(socketPath: string, path: string, body: unknown, timeoutMs = 0): Promise<unknown> {
  const data = JSON.stringify(body ?? {});
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath,
        path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : {};
          } catch {
            return reject(new ApiCallError(`daemon answered non-JSON (${res.statusCode})`, 'BAD_RESPONSE', res.statusCode ?? 0));
          }
          if ((res.statusCode ?? 500) >= 400) {
            const e = (parsed as { error?: { code: string; message: string } }).error;
            return reject(new ApiCallError(e?.message ?? `HTTP ${res.statusCode}`, e?.code ?? 'ERROR', res.statusCode ?? 0));
          }
          resolve(parsed);
        });
        res.on('error', reject);
      },
    );
    if (timeoutMs > 0) req.setTimeout(timeoutMs, () => req.destroy(new DaemonBusy(`daemon did not answer within ${timeoutMs / 1000}s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof DaemonUnreachable) return reject(err);
      // EAGAIN: the socket's backlog is full, the daemon accepts nothing for now.
      if (err.code === 'EAGAIN') return reject(new DaemonBusy(`daemon not accepting connections at ${socketPath} (EAGAIN)`, err));
      if (GONE.has(err.code ?? '')) {
        return reject(new DaemonUnreachable(`daemon not reachable at ${socketPath} (${err.code})`, err));
      }
      reject(err);
    });
    req.end(data);
  });
}

/** GET an ndjson stream; `onItem` for each line. Resolves at the end of the stream. */
export function getNdjson(
  socketPath: string,
  path: string,
  onItem: (item: any) => void,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path, method: 'GET', agent }, (res) => {
      if ((res.statusCode ?? 500) >= 400) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            const e = JSON.parse(Buffer.concat(chunks).toString('utf8')).error;
            reject(new ApiCallError(e.message, e.code, res.statusCode ?? 0));
          } catch {
            reject(new ApiCallError(`HTTP ${res.statusCode}`, 'ERROR', res.statusCode ?? 0));
          }
        });
        return;
      }
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line) continue;
          const item = JSON.parse(line);
          if (item && item.type === 'error' && item.error) {
            reject(new ApiCallError(item.error.message, item.error.code, 200));
            req.destroy();
            return;
          }
          onItem(item);
        }
      });
      // Aborting on purpose (ctrl-c) is a clean end, not an error.
      res.on('end', () => resolve());
      res.on('error', (err) => (signal?.aborted ? resolve() : reject(err)));
      res.on('aborted', () => (signal?.aborted ? resolve() : reject(new DaemonUnreachable('daemon closed the stream'))));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (signal?.aborted) return resolve();
      if (GONE.has(err.code ?? '')) {
        return reject(new DaemonUnreachable(`daemon not reachable at ${socketPath} (${err.code})`, err));
      }
      reject(err);
    });
    signal?.addEventListener('abort', () => req.destroy(), { once: true });
    req.end();
  });
}
