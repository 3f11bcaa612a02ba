// Wires the agent's methods to RPC connections on its unix socket (and, for workers on other
// machines, a TCP listener that demands the cluster token first).
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import net from 'node:net';
import type { Agent } from './agent.js';
import { logsHandler } from './logs.js';
import { ensurePrivateDir } from './paths.js';
import { AgentError, RpcConnection, type Handler } from './rpc.js';

const STREAMING = new Set(['watch', 'logs', 'runRank']);
/** TCP connections waiting to authenticate (a head needs one per worker, at once) */
const MAX_UNAUTHENTICATED = 32;
/** all TCP connections: a head keeps one or two per worker; the rest would be someone else */
const MAX_TCP_CONNECTIONS = 256;

export function handlers(agent: Agent): Record<string, Handler> {
  return {
    hello: () => agent.hello(),
    configure: (p) => agent.configure(p),
    submit: (p) => agent.submit(p),
    cancel: (p) => agent.cancel(p ?? {}),
    jobs: (p) => agent.jobs(p ?? {}),
    watch: (p, ctx) => agent.watch(p ?? {}, ctx.sink!),
    logs: (p, ctx) => logsHandler(agent, p, ctx.sink!),
    setAutostop: (p) => agent.setAutostop(p ?? {}),
    info: () => agent.info(),
    workerHealth: () => agent.workerHealth(),
    shutdown: (p) => agent.shutdown(p?.reason, p?.powerOffAfterMs),
    runRank: (p, ctx) => {
      if (!p || typeof p.script !== 'string' || typeof p.jobId !== 'number') throw new AgentError('bad runRank params', 'BAD_REQUEST');
      return agent.ranks.run(p, ctx.sink);
    },
    killRank: async (p) => {
      await agent.ranks.kill(p.jobId, p.phase);
      return { ok: true };
    },
    reconcileRanks: async (p) => {
      if (!p || !Array.isArray(p.activeJobIds)) throw new AgentError('reconcileRanks needs activeJobIds', 'BAD_REQUEST');
      return { killed: await agent.ranks.reconcile(new Set(p.activeJobIds.map(Number))) };
    },
  };
}

export interface Listeners {
  unix: net.Server;
  tcp?: net.Server;
  tcpAddress?: { host: string; port: number };
  close(): void;
}

function listen(server: net.Server, ...args: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    (server.listen as (...a: unknown[]) => void)(...args, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export async function startListeners(
  agent: Agent,
  socketPath: string,
  tcp?: { host: string; port: number; token: string },
): Promise<Listeners> {
  const h = handlers(agent);
  const conns = new Set<RpcConnection>();
  // Connections on TCP that have not shown the token yet, oldest first: past the cap the oldest
  // is dropped, so a flood of idle connections can neither pile up nor lock the head out.
  const strangers = new Set<RpcConnection>();
  const accept = (token?: string) => (sock: net.Socket) => {
    sock.setNoDelay?.(true);
    const c = new RpcConnection(sock, h, { streaming: STREAMING, token });
    conns.add(c);
    c.on('close', () => {
      conns.delete(c);
      strangers.delete(c);
    });
    if (token && !c.authenticated) {
      strangers.add(c);
      c.once('authenticated', () => strangers.delete(c));
      if (strangers.size > MAX_UNAUTHENTICATED) {
        const oldest = strangers.values().next().value!;
        strangers.delete(oldest);
        oldest.stream.destroy();
      }
    }
  };
  ensurePrivateDir(dirname(socketPath));
  if (existsSync(socketPath)) unlinkSync(socketPath);
  const unix = net.createServer(accept());
  // The socket is created 0600 from the start: no window where others could connect.
  const old = process.umask(0o177);
  try {
    await listen(unix, socketPath);
  } finally {
    process.umask(old);
  }
  chmodSync(socketPath, 0o600);
  let tcpServer: net.Server | undefined;
  let tcpAddress: { host: string; port: number } | undefined;
  if (tcp) {
    tcpServer = net.createServer(accept(tcp.token));
    tcpServer.maxConnections = MAX_TCP_CONNECTIONS;
    await listen(tcpServer, tcp.port, tcp.host);
    const a = tcpServer.address() as net.AddressInfo;
    tcpAddress = { host: tcp.host, port: a.port };
  }
  return {
    unix,
    tcp: tcpServer,
    tcpAddress,
    close() {
      unix.close();
      tcpServer?.close();
      for (const c of conns) c.stream.destroy();
      try {
        unlinkSync(socketPath);
      } catch {
        /* gone */
      }
    },
  };
}
