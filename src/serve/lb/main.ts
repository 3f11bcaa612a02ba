// A service's load balancer: its own process (`node dist/serve/lb/main.js DIR`), started
// detached by the daemon, so a daemon killed or restarted does not drop a request. It reads
// DIR/config.json, binds the service's port, serves the control API on DIR/lb.sock (protocol.ts)
// and logs to DIR/lb.log. It lives until the controller says stop (`serve down`) or it is killed.
import { appendFileSync, chmodSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Balancer } from './proxy.js';
import { LB_PROTOCOL, lbFiles, type LbConfig, type LbConfigFile, type LbEvent, type LbState, type LbStats } from './protocol.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: lb/main.js DIR\n');
  process.exit(2);
}
const files = lbFiles(dir);
const startedAt = Date.now();

function log(line: string): void {
  try {
    appendFileSync(files.log, `${new Date().toISOString()} ${line}\n`, { mode: 0o600 });
  } catch {
    /* a log that cannot be written must not stop traffic */
  }
}

const file = JSON.parse(readFileSync(files.config, 'utf8')) as LbConfigFile;
const { listen, ...initial } = file;
const subscribers = new Set<http.ServerResponse>();
const emit = (e: LbEvent) => {
  const line = JSON.stringify(e) + '\n';
  for (const s of subscribers) s.write(line);
};
const balancer = new Balancer(initial as LbConfig, { log, emit });

let server: http.Server;

function makeServer(): http.Server {
  const serverOpts = { keepAlive: true, noDelay: true, keepAliveTimeout: 65_000 };
  const s = listen.tls
    ? https.createServer({ ...serverOpts, key: readFileSync(listen.tls.keyfile), cert: readFileSync(listen.tls.certfile) }, (q, r) => balancer.handle(q, r))
    : http.createServer(serverOpts, (q, r) => balancer.handle(q, r));
  s.on('upgrade', (q, sock, head) => balancer.upgrade(q, sock, head));
  s.on('clientError', (_err, sock) => {
    if (sock.writable) sock.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });
  return s;
}

async function bind(): Promise<number> {
  const tries = listen.portSearch ?? 1;
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    const port = listen.port + i;
    try {
      await new Promise<void>((resolve, reject) => {
        const onErr = (e: Error) => reject(e);
        server.once('error', onErr);
        server.listen({ port, host: listen.host, exclusive: true }, () => {
          server.off('error', onErr);
          resolve();
        });
      });
      return (server.address() as AddressInfo).port;
    } catch (err) {
      last = err;
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
    }
  }
  throw last;
}

const control = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://lb');
  const json = (v: unknown, status = 200) => {
    const body = JSON.stringify(v);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  if (req.method === 'GET' && url.pathname === '/state') {
    const state: LbState = { protocol: LB_PROTOCOL, pid: process.pid, port: boundPort, service: balancer.config.service, startedAt, replicas: balancer.replicaStates(), waiting: balancer.waiting };
    return json(state);
  }
  if (req.method === 'GET' && url.pathname === '/stats') {
    const window = Math.max(1, Number(url.searchParams.get('window') ?? '60'));
    const now = Date.now();
    const perSecond = balancer.stats.perSecond(window, now);
    const [p50, p99] = balancer.stats.percentiles([0.5, 0.99], 60_000, now);
    const stats: LbStats = {
      now,
      perSecond,
      requests: perSecond.reduce((a, b) => a + b, 0),
      window,
      ...(p50 !== undefined ? { p50Ms: p50 } : {}),
      ...(p99 !== undefined ? { p99Ms: p99 } : {}),
      inflight: balancer.totalInflight(),
      inflightByUrl: balancer.inflightByUrl(),
      errors: balancer.stats.errors,
      retries: balancer.stats.retries,
    };
    return json(stats);
  }
  if (req.method === 'GET' && url.pathname === '/events') {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.flushHeaders();
    subscribers.add(res);
    res.on('close', () => subscribers.delete(res));
    return;
  }
  if (req.method === 'PUT' && url.pathname === '/config') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const cfg = JSON.parse(Buffer.concat(chunks).toString('utf8')) as LbConfig;
        balancer.configure(cfg);
        json({ ok: true });
      } catch (err) {
        json({ error: (err as Error).message }, 400);
      }
    });
    return;
  }
  if (req.method === 'POST' && url.pathname === '/stop') {
    json({ ok: true });
    setImmediate(() => stop('asked to stop (serve down)'));
    return;
  }
  json({ error: 'not found' }, 404);
});

let boundPort = 0;

function stop(why: string): void {
  log(`stopping: ${why}`);
  balancer.close();
  rmSync(files.socket, { force: true });
  try {
    if (readFileSync(files.pid, 'utf8').trim() === String(process.pid)) rmSync(files.pid, { force: true });
  } catch {
    /* gone already */
  }
  server?.close();
  control.close();
  for (const s of subscribers) s.end();
  setTimeout(() => process.exit(0), 50).unref();
}

async function main(): Promise<void> {
  server = makeServer();
  boundPort = await bind();
  rmSync(files.socket, { force: true });
  const old = process.umask(0o177);
  await new Promise<void>((resolve) => control.listen(files.socket, resolve));
  process.umask(old);
  chmodSync(files.socket, 0o600);
  writeFileSync(files.pid, String(process.pid), { mode: 0o600 });
  // The port the service keeps from now on (a restart binds exactly this one).
  if (listen.portSearch !== undefined) {
    const next: LbConfigFile = { ...file, listen: { ...listen, port: boundPort, portSearch: undefined } };
    writeFileSync(`${files.config}.tmp`, JSON.stringify(next), { mode: 0o600 });
    renameSync(`${files.config}.tmp`, files.config);
  }
  writeFileSync(files.ready, JSON.stringify({ pid: process.pid, port: boundPort }), { mode: 0o600 });
  log(`load balancer for ${initial.service} on ${listen.tls ? 'https' : 'http'}://${listen.host}:${boundPort} (pid ${process.pid}, policy ${initial.policy}, ${initial.replicas.length} replica(s))`);
}

process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
process.on('uncaughtException', (err) => log(`uncaught: ${err.stack ?? err.message}`));

main().catch((err) => {
  log(`cannot start: ${(err as Error).message}`);
  writeFileSync(files.ready, JSON.stringify({ error: (err as Error).message }), { mode: 0o600 });
  process.exit(1);
});
