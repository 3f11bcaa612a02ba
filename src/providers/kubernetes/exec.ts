// One exec session into a pod over the API server's websocket exec endpoint, through the SDK's
// WebSocketHandler (which applies the kubeconfig's auth: bearer tokens, client certificates,
// insecure-skip-tls-verify). Channel protocol v5 (v5.channel.k8s.io) is offered first: it can close
// stdin (frame 255,0) without closing the connection. v4 cannot, so callers that need stdin EOF on v4
// frame their input (see transport.ts). The exit status arrives on channel 3.
import { PassThrough, Readable, Writable } from 'node:stream';
import WebSocket from 'ws';
// Not re-exported by the package index; the SDK's own handler (auth, TLS) is what we want.
import { WebSocketHandler } from '@kubernetes/client-node/dist/web-socket-handler.js';
import type { KubeConfig } from '@kubernetes/client-node';

export const V5 = 'v5.channel.k8s.io';
export const V4 = 'v4.channel.k8s.io';

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const RESIZE = 4;
const CLOSE = 255;

export interface ExecTarget {
  kc: KubeConfig;
  namespace: string;
  pod: string;
  container: string;
}

export interface ExecStatus {
  /** the command's exit code; 126 when it could not be started */
  code: number;
  /** why, when the API server said more than an exit code */
  message?: string;
}

/** The exec connection ended without an exit status (pod deleted, connection dropped). */
export class ExecLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExecLostError';
  }
}

export interface ExecSession {
  readonly protocol: string;
  /** sends stdin; resolves when the socket's buffer has room again (backpressure) */
  write(chunk: Buffer): Promise<void>;
  /** v5: closes stdin (the command sees EOF). v4: not possible; returns false. */
  endStdin(): boolean;
  resize(cols: number, rows: number): void;
  onStdout(cb: (chunk: Buffer) => void): void;
  onStderr(cb: (chunk: Buffer) => void): void;
  /** the command's status, or ExecLostError */
  readonly done: Promise<ExecStatus>;
  close(): void;
}

/** Protocols to offer; tests force v4 with ALOFT_K8S_EXEC_PROTOCOLS=v4.channel.k8s.io. */
export function offeredProtocols(): string[] {
  const forced = process.env.ALOFT_K8S_EXEC_PROTOCOLS;
  return forced ? forced.split(',').map((s) => s.trim()).filter(Boolean) : [V5, V4];
}

/** V1Status on channel 3 → an exit code. */
export function parseExecStatus(text: string): ExecStatus {
  let s: { status?: string; reason?: string; message?: string; details?: { causes?: Array<{ reason?: string; message?: string }> } };
  try {
    s = JSON.parse(text);
  } catch {
    return { code: 126, message: text.trim() };
  }
  if (s.status === 'Success') return { code: 0 };
  const exit = s.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
  if (s.reason === 'NonZeroExitCode' && exit !== undefined && Number.isFinite(Number(exit))) return { code: Number(exit) };
  return { code: 126, message: s.message ?? s.reason ?? 'exec failed' };
}

const HIGH_WATER = 1 << 20;

export async function openExec(t: ExecTarget, command: string[], opts: { stdin: boolean; tty?: boolean; protocols?: string[] }): Promise<ExecSession> {
  const params = new URLSearchParams();
  for (const c of command) params.append('command', c);
  params.set('container', t.container);
  params.set('stdout', 'true');
  params.set('stderr', opts.tty ? 'false' : 'true');
  params.set('stdin', opts.stdin ? 'true' : 'false');
  params.set('tty', opts.tty ? 'true' : 'false');
  const path = `/api/v1/namespaces/${encodeURIComponent(t.namespace)}/pods/${encodeURIComponent(t.pod)}/exec?${params.toString()}`;
  const protocols = opts.protocols ?? offeredProtocols();

  const outCbs: Array<(b: Buffer) => void> = [];
  const errCbs: Array<(b: Buffer) => void> = [];
  const early: Array<[number, Buffer]> = [];
  let status: ExecStatus | undefined;
  let settle!: (s: ExecStatus | Error) => void;
  const done = new Promise<ExecStatus>((resolve, reject) => {
    settle = (s) => (s instanceof Error ? reject(s) : resolve(s));
  });
  done.catch(() => undefined);

  const deliver = (stream: number, data: Buffer) => {
    const cbs = stream === STDOUT ? outCbs : errCbs;
    if (cbs.length === 0) early.push([stream, data]);
    else for (const cb of cbs) cb(data);
  };

  // The handler's own stream handling writes to process.stdout on some frames; give it inert streams.
  const inert = { stdin: new Readable({ read() {} }), stdout: new PassThrough(), stderr: new PassThrough() };
  const handler = new WebSocketHandler(
    t.kc,
    (uri: string, _offered: string[], wsOpts: WebSocket.ClientOptions) => new WebSocket(uri, protocols, wsOpts) as never,
    inert as never,
  );
  let ws: WebSocket;
  try {
    ws = (await handler.connect(path, null, (stream: number, buf: Buffer) => {
      if (stream === STATUS) {
        status = parseExecStatus(buf.toString('utf8'));
        return false; // the handler closes the socket
      }
      if (stream === STDOUT || stream === STDERR) deliver(stream, Buffer.from(buf));
      return true;
    })) as unknown as WebSocket;
  } catch (err) {
    throw new Error(`exec in pod ${t.pod}: ${describeConnectError(err)}`);
  }
  ws.on('close', (code, reason) => {
    if (status) settle(status);
    else settle(new ExecLostError(`exec in pod ${t.pod}: connection closed without an exit status (${code}${reason.length ? ` ${reason.toString()}` : ''}); was the pod deleted?`));
  });
  ws.on('error', () => undefined);

  const send = (stream: number, data: Buffer): Promise<void> => {
    if (ws.readyState !== WebSocket.OPEN) return Promise.reject(new ExecLostError(`exec in pod ${t.pod}: connection closed`));
    const frame = Buffer.allocUnsafe(data.length + 1);
    frame[0] = stream;
    data.copy(frame, 1);
    return new Promise((resolve, reject) => {
      ws.send(frame, (err) => {
        if (err) return reject(err);
        if (ws.bufferedAmount < HIGH_WATER) return resolve();
        const poll = setInterval(() => {
          if (ws.bufferedAmount < HIGH_WATER || ws.readyState !== WebSocket.OPEN) {
            clearInterval(poll);
            resolve();
          }
        }, 5);
      });
    });
  };

  return {
    protocol: ws.protocol,
    write: (chunk) => send(STDIN, chunk),
    endStdin() {
      if (ws.protocol !== V5 || ws.readyState !== WebSocket.OPEN) return false;
      ws.send(Buffer.from([CLOSE, STDIN]));
      return true;
    },
    resize(cols, rows) {
      if (ws.readyState === WebSocket.OPEN) void send(RESIZE, Buffer.from(JSON.stringify({ Width: cols, Height: rows }))).catch(() => undefined);
    },
    onStdout(cb) {
      outCbs.push(cb);
      flushEarly(STDOUT, cb);
    },
    onStderr(cb) {
      errCbs.push(cb);
      flushEarly(STDERR, cb);
    },
    done,
    close() {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
    },
  };

  function flushEarly(stream: number, cb: (b: Buffer) => void) {
    for (let i = 0; i < early.length; ) {
      if (early[i]![0] === stream) {
        cb(early[i]![1]);
        early.splice(i, 1);
      } else i++;
    }
  }
}

function describeConnectError(err: unknown): string {
  const e = err as { message?: string; code?: string; error?: { message?: string } };
  const m = e?.message ?? e?.error?.message ?? String(err);
  const http = /Unexpected server response: (\d+)/.exec(m);
  if (http) {
    const code = Number(http[1]);
    if (code === 404) return 'the pod (or its container) does not exist';
    if (code === 401) return 'unauthorized (the kubeconfig credentials were refused)';
    if (code === 403) return 'forbidden (the kubeconfig user may not exec into pods)';
    if (code === 400) return 'the API server refused the exec (is the container running?)';
    return `the API server answered HTTP ${code}`;
  }
  return m.split('\n')[0]!;
}

/** A Writable that goes nowhere (for streams the caller does not read). */
export const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
