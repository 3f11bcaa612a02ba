// A service's load balancer: its own process (`node dist/serve/lb/main.js DIR`), started
// detached by the daemon, so a daemon killed or restarted does not drop a request. It reads
// DIR/config.json, binds the service's port, serves the control API on DIR/lb.sock (protocol.ts)
// and logs to DIR/lb.log. It lives until the controller says stop (`serve down`) or it is killed.
// With ALOFT_SERVE_LB_WORKERS > 1 (the default on a machine with several cores) requests are
// proxied by that many worker processes sharing the port (workers.ts); this one, the primary,
// keeps the control API and adds the workers up.
import cluster from 'node:cluster';
import { appendFileSync, chmodSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism } from 'node:os';
import { LB_PROTOCOL, lbFiles, type LbConfig, type LbConfigFile, type LbEvent, type LbState } from './protocol.js';
import { LB_WORKERS_ENV, workerCount } from './worker-count.js';
import { runWorker } from './worker-main.js';
import { mergeReplicas, mergeStats } from './snapshot.js';
import { WorkerSet } from './workers.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: lb/main.js DIR\n');
  process.exit(2);
}
const files = lbFiles(dir);
const startedAt = Date.now();
const who = cluster.isWorker ? `[worker ${process.pid}] ` : '';

function log(line: string): void {
  try {
    appendFileSync(files.log, `${new Date().toISOString()} ${who}${line}\n`, { mode: 0o600 });
  } catch {
    /* a log that cannot be written must not stop traffic */
  }
}

process.on('uncaughtException', (err) => log(`uncaught: ${err.stack ?? err.message}`));
if (cluster.isWorker) runWorker(log);
else primary();

function primary(): void {
  const file = JSON.parse(readFileSync(files.config, 'utf8')) as LbConfigFile;

  /** lb.ready, whole or not at all: the daemon polls for it and must never read it half-written. */
  function writeReady(v: { pid?: number; port?: number; error?: string }): void {
    writeFileSync(`${files.ready}.tmp`, JSON.stringify(v), { mode: 0o600 });
    renameSync(`${files.ready}.tmp`, files.ready);
  }
  const { listen, ...initial } = file;
  let cfg = initial as LbConfig;
  const subscribers = new Set<http.ServerResponse>();
  const emit = (e: LbEvent) => {
    const line = JSON.stringify(e) + '\n';
    for (const s of subscribers) s.write(line);
  };
  let workers: WorkerSet | undefined;

  const control = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://lb');
    const json = (v: unknown, status = 200) => {
      const body = JSON.stringify(v);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method === 'GET' && (url.pathname === '/state' || url.pathname === '/stats')) {
      const window = Math.min(3600, Math.max(1, Math.floor(Number(url.searchParams.get('window') ?? '60')) || 60));
      const now = Date.now();
      void (workers?.snapshots(now, window) ?? Promise.resolve([])).then((snaps) => {
        if (url.pathname === '/stats') return json(mergeStats(snaps, now, window));
        const state: LbState = {
          protocol: LB_PROTOCOL,
          pid: process.pid,
          port: boundPort,
          service: cfg.service,
          startedAt,
          replicas: mergeReplicas(snaps),
          waiting: snaps.reduce((a, s) => a + s.waiting, 0),
          workers: workers?.serving ?? 0,
          workerPids: workers?.pids() ?? [],
        };
        json(state);
      });
      return;
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
          cfg = JSON.parse(Buffer.concat(chunks).toString('utf8')) as LbConfig;
        } catch (err) {
          return json({ error: (err as Error).message }, 400);
        }
        (workers?.configure(cfg) ?? Promise.resolve()).then(
          () => json({ ok: true }),
          (err: Error) => json({ error: err.message }, 500),
        );
      });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/stop') {
      json({ ok: true });
      setImmediate(() => void stop('asked to stop (serve down)'));
      return;
    }
    json({ error: 'not found' }, 404);
  });

  let boundPort = 0;

  let stopping = false;
  async function stop(why: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    log(`stopping: ${why}`);
    rmSync(files.socket, { force: true });
    try {
      if (readFileSync(files.pid, 'utf8').trim() === String(process.pid)) rmSync(files.pid, { force: true });
    } catch {
      /* gone already */
    }
    control.close();
    for (const s of subscribers) s.end();
    // the workers first: the daemon takes this process gone as the balancer gone
    await workers?.stop().catch(() => undefined);
    setTimeout(() => process.exit(0), 50).unref();
  }

  async function main(): Promise<void> {
    const count = workerCount(process.env[LB_WORKERS_ENV], availableParallelism());
    workers = new WorkerSet(cfg, listen, count, log, emit);
    boundPort = await workers.start();
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
    writeReady({ pid: process.pid, port: boundPort });
    log(`load balancer for ${initial.service} on ${listen.tls ? 'https' : 'http'}://${listen.host}:${boundPort} (pid ${process.pid}, ${count === 1 ? 'one process' : `${count} workers: ${workers.pids().join(', ')}`}, policy ${initial.policy}, ${initial.replicas.length} replica(s))`);
  }

  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  main().catch(async (err) => {
    log(`cannot start: ${(err as Error).message}`);
    await workers?.stop().catch(() => undefined);
    writeReady({ error: (err as Error).message });
    process.exit(1);
  });
}
