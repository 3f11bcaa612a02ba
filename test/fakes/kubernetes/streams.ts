// The kubelet's streaming endpoints over websocket: exec (the channel protocol — a leading byte
// per message names the stream: 0 stdin, 1 stdout, 2 stderr, 3 error/status, 4 resize, and in v5
// 255 closes a stream) and port-forward (v4 channel protocol: per port a data and an error
// channel, each opened by the server with the port number as two little-endian bytes).
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { WebSocket } from 'ws';

export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
export const PORTFORWARD_PROTOCOLS = ['v4.channel.k8s.io'];

/** The server's choice among the client's offered subprotocols: the first one it supports, in the client's order. */
export function chooseProtocol(offered: Set<string>, supported: string[]): string | false {
  for (const p of offered) if (supported.includes(p)) return p;
  return false;
}

const frame = (channel: number, data: Buffer | string): Buffer => Buffer.concat([Buffer.from([channel]), Buffer.isBuffer(data) ? data : Buffer.from(data)]);

export interface ExecOptions {
  argv: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

function exitStatus(code: number, argv: string[]): Record<string, unknown> {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${argv.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** Wires an exec'd process to the websocket; `start` is called once the socket is open. */
export function serveExec(ws: WebSocket, opts: ExecOptions, start: () => ChildProcess): void {
  const v5 = ws.protocol === 'v5.channel.k8s.io';
  const textErrors = ws.protocol === 'channel.k8s.io';
  const send = (channel: number, data: Buffer | string) => {
    if (ws.readyState === ws.OPEN) ws.send(frame(channel, data));
  };
  const finish = (status: Record<string, unknown>) => {
    if (textErrors) {
      if (status['status'] !== 'Success') send(3, String(status['message']));
    } else send(3, JSON.stringify(status));
    ws.close(1000);
  };
  let child: ChildProcess;
  try {
    child = start();
  } catch (err) {
    finish({ metadata: {}, status: 'Failure', message: (err as Error).message, reason: 'InternalError', code: 500 });
    return;
  }
  child.stdin?.on('error', () => {});
  if (!opts.stdin) child.stdin?.end();
  child.stdout!.on('data', (d: Buffer) => opts.stdout && send(1, d));
  child.stderr!.on('data', (d: Buffer) => opts.stderr && send(2, d));
  const resize = child.stdio[3] as NodeJS.WritableStream | undefined;
  resize?.on('error', () => {});
  let spawnError: Error | undefined;
  child.once('error', (e) => (spawnError = e));
  child.once('close', (code, signal) => {
    if (spawnError) return finish({ metadata: {}, status: 'Failure', message: spawnError.message, reason: 'InternalError', code: 500 });
    finish(exitStatus(code ?? (signal ? 128 + 9 : 1), opts.argv));
  });
  ws.on('message', (raw: Buffer, isBinary: boolean) => {
    const data = isBinary ? raw : Buffer.from(raw);
    if (data.length === 0) return;
    const channel = data[0]!;
    const body = data.subarray(1);
    if (channel === 0 && opts.stdin) child.stdin?.write(body);
    else if (channel === 4 && opts.tty && resize) {
      try {
        const { Width, Height } = JSON.parse(body.toString()) as { Width: number; Height: number };
        resize.write(`${Width} ${Height}\n`);
      } catch {
        /* a malformed resize is ignored, as the kubelet does */
      }
    } else if (channel === 255 && v5 && body[0] === 0) child.stdin?.end();
  });
  // The client went away: its stdin ends. The process keeps running, as with a real kubelet.
  ws.on('close', () => child.stdin?.end());
}

/** Forwards one websocket to `host:port` for each requested port (client-node opens one connection per TCP connection). */
export function servePortForward(ws: WebSocket, host: string, ports: number[], describe: (port: number) => string): void {
  const sockets: net.Socket[] = [];
  const send = (channel: number, data: Buffer) => {
    if (ws.readyState === ws.OPEN) ws.send(frame(channel, data));
  };
  ports.forEach((port, i) => {
    const p = Buffer.from([port & 255, port >> 8]);
    send(2 * i, p);
    send(2 * i + 1, p);
    const sock = net.connect(port, host);
    sockets[i] = sock;
    sock.on('data', (d) => send(2 * i, d));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      send(2 * i + 1, Buffer.from(`an error occurred forwarding ${port} -> ${port}: error forwarding port ${port} to pod ${describe(port)}: dial tcp4 ${host}:${port}: connect: ${e.code === 'ECONNREFUSED' ? 'connection refused' : e.message}`));
      ws.close(1000);
    });
    sock.on('close', () => ws.close(1000));
  });
  ws.on('message', (raw: Buffer) => {
    const channel = raw[0]!;
    const i = channel / 2;
    if (channel % 2 !== 0 || !sockets[i]) return;
    sockets[i]!.write(raw.subarray(1)); // buffered by the socket while it connects
  });
  ws.on('close', () => {
    for (const s of sockets) s.end();
  });
}
