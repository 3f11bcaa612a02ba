// One balancer on the service's port: an http(s) server whose requests and upgrades go to a
// Balancer. Run once per worker process (several share the port through node:cluster) or in the
// balancer's own process when it runs a single worker.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { Balancer, type BalancerHooks } from './proxy.js';
import type { LbConfig, LbStart } from './protocol.js';

export interface OpenBalancer {
  balancer: Balancer;
  port: number;
  /** the port asked for: what the other workers listen on to share this socket (0 stays 0) */
  requested: number;
  /** stops accepting, drops the replica pools */
  close(): void;
}

/**
 * Serves `cfg` on `listen`: exactly listen.port, or with portSearch the first free of
 * port, port+1, …; rejects with the bind error (a port taken, a TLS file it cannot read).
 */
export async function openBalancer(cfg: LbConfig, listen: LbStart, hooks: BalancerHooks): Promise<OpenBalancer> {
  const balancer = new Balancer(cfg, hooks);
  const serverOpts = { keepAlive: true, noDelay: true, keepAliveTimeout: 65_000 };
  const server = listen.tls
    ? https.createServer({ ...serverOpts, key: readFileSync(listen.tls.keyfile), cert: readFileSync(listen.tls.certfile) }, (q, r) => balancer.handle(q, r))
    : http.createServer(serverOpts, (q, r) => balancer.handle(q, r));
  server.on('upgrade', (q, sock, head) => balancer.upgrade(q, sock, head));
  server.on('clientError', (_err, sock) => {
    if (sock.writable) sock.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });
  try {
    const { port, requested } = await bind(server, listen);
    return {
      balancer,
      port,
      requested,
      close() {
        server.close();
        balancer.close();
      },
    };
  } catch (err) {
    balancer.close();
    throw err;
  }
}

async function bind(server: http.Server, listen: LbStart): Promise<{ port: number; requested: number }> {
  const tries = listen.portSearch ?? 1;
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    const port = listen.port + i;
    try {
      await new Promise<void>((resolve, reject) => {
        const onErr = (e: Error) => reject(e);
        server.once('error', onErr);
        // not exclusive: the workers of one balancer share the port through node:cluster
        server.listen({ port, host: listen.host }, () => {
          server.off('error', onErr);
          resolve();
        });
      });
      return { port: (server.address() as AddressInfo).port, requested: port };
    } catch (err) {
      last = err;
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
    }
  }
  throw last;
}
