// The aloft daemon: started by the first CLI call that needs it (client/spawn.ts), detached,
// one per ALOFT_HOME. It tells its parent it is ready by writing "ready" on fd 3.

import { writeFileSync, rmSync, writeSync, closeSync, mkdirSync, existsSync, readFileSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { DaemonBusy, DaemonUnreachable, postJson } from '../client/http.js';
import { AgentLinks } from './agents.js';
import { createApi } from './api.js';
import { ClusterLocks, type DaemonContext } from './context.js';
import { openState } from './state/open.js';
import { AuditLog, READ_ONLY_METHODS, auditTarget } from './team/audit.js';
import { Users } from './team/users.js';
import { readStartSettings, serverOptions } from './team/options.js';
import { collectUploads, receiveUpload, uploadsDir } from './team/uploads.js';
import { loadConfig } from '../spec/config.js';
import { createLogger } from './log.js';
import { LogArchive, type LogFetcher } from './logs.js';
import { makeLogFetcher } from './log-fetch.js';
import { onAutostop } from './pipeline/lifecycle.js';
import { recoverAfterRestart } from './recover.js';
import { wireNodeLoss } from './node-loss.js';
import { onProviderCreated } from './providers.js';
import { ManagedJobs } from './managed/service.js';
import { Services } from './serve/service.js';
import { startChaos } from './chaos.js';
import { PlanRunner } from './plan-runner.js';
import { RequestTracker } from './requests.js';
import { ApiServer } from './server.js';
import { Store } from './store.js';
import { aloftHome, ensureHome, homePaths } from '../util/paths.js';
import { aloftVersion } from '../util/version.js';
import { errorMessage } from '../util/errors.js';
import { errnoCode, liveDaemonPid, waitForExit } from '../util/process.js';


/** Tells the CLI that started us to go ahead (fd 3, see client/spawn.ts). */
function signalReady(): void {
  const readyFd = Number(process.env.ALOFT_READY_FD ?? '-1');
  if (readyFd < 0) return;
  try {
    writeSync(readyFd, 'ready\n');
    closeSync(readyFd);
  } catch {
    /* parent went away; we run anyway */
  }
}

/**
 * True if a daemon already serves the socket: it answers, or it took the connection and is busy
 * (a busy daemon is never replaced). A socket file nobody listens on is removed.
 */
async function anotherDaemonServes(socket: string): Promise<boolean> {
  if (!existsSync(socket)) return false;
  try {
    await postJson(socket, '/v1/rpc/info', {}, 5_000);
    return true;
  } catch (err) {
    if (!(err instanceof DaemonUnreachable) || err instanceof DaemonBusy) return true;
    rmSync(socket, { force: true });
    return false;
  }
}

function inodeOf(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

function readPid(path: string): number | undefined {
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/**
 * A daemon whose socket file was deleted still runs, unreachable, on the same database: two
 * writers would fight (duplicate event numbers, controllers on both sides). The pid file names it;
 * it is asked to leave (SIGTERM, then SIGKILL) before we take over. (A daemon that is only busy
 * keeps its socket and is never retired: see anotherDaemonServes.)
 */
async function retireUnreachableDaemon(pidFile: string, log: ReturnType<typeof createLogger>): Promise<void> {
  const pid = liveDaemonPid(pidFile);
  if (pid === undefined || pid === process.pid) return;
  log.warn({ pid }, 'a daemon without its socket still runs on this home; asking it to leave');
  process.kill(pid, 'SIGTERM');
  if (!(await waitForExit(pid, 15_000))) process.kill(pid, 'SIGKILL');
}

/**
 * Switching a home from its SQLite file to a fresh PostgreSQL state would leave the clusters the
 * file knows running with nobody managing them: refuse, saying what to do.
 */
function refuseToOrphan(file: string, store: Store): void {
  if (!existsSync(file) || store.listClusters().length > 0) return;
  let names: string[] = [];
  try {
    const old = new Database(file, { readonly: true, fileMustExist: true });
    try {
      names = (old.prepare('SELECT name FROM clusters ORDER BY name').all() as Array<{ name: string }>).map((r) => r.name);
    } finally {
      old.close();
    }
  } catch {
    return; // no clusters table, or not a database: nothing to orphan
  }
  if (names.length === 0) return;
  throw new Error(
    `${file} has ${names.length} cluster(s) (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}) that the new PostgreSQL state does not; ` +
      'tear them down first (`aloft api stop`, then `aloft down -a`) or serve from another ALOFT_HOME',
  );
}

async function main(): Promise<void> {
  const home = ensureHome(aloftHome());
  const paths = homePaths(home);
  mkdirSync(paths.logs, { recursive: true, mode: 0o700 });
  const log = createLogger(paths.log);
  const startedAt = Date.now();
  // The CLI's start lock keeps this from happening; if it does anyway (a lock taken over from a
  // CLI that died), the daemon already serving this home wins and we leave without touching state.
  if (await anotherDaemonServes(paths.socket)) {
    log.warn('another daemon already serves this home; leaving');
    log.flush();
    signalReady();
    process.exit(0);
  }
  await retireUnreachableDaemon(paths.pidFile, log);
  log.info({ version: aloftVersion(), home }, 'daemon starting');

  // Team mode and the state backend: config.yaml (`api_server:`, `db:`) and what `aloft api start` set.
  const serving = serverOptions(loadConfig(paths.config), readStartSettings(home));
  const state = await openState({
    file: paths.db,
    url: serving.db,
    log,
    onFatal: (err) => {
      // PostgreSQL refused the state or another server took the database: stop as a crash would;
      // what PostgreSQL holds is consistent, and the next start resumes from it.
      log.fatal({ err: errorMessage(err) }, 'state store failed; exiting');
      log.flush();
      process.exit(1);
    },
  });
  const { db, durability } = state;
  const store = new Store(db, durability.kind === 'postgresql' ? durability : undefined);
  if (durability.kind === 'postgresql') refuseToOrphan(paths.db, store);
  const users = new Users(db);
  const audit = new AuditLog(db);
  const links = new AgentLinks();
  const requests = new RequestTracker(store);
  // The archive's fetcher needs the context it is part of; it is only called after start-up.
  const fetchLog: LogFetcher = (job) => makeLogFetcher(ctx)(job);
  const ctx: DaemonContext = {
    home,
    store,
    log,
    links,
    requests,
    locks: new ClusterLocks(),
    planner: new PlanRunner(),
    archive: new LogArchive(paths.logs, store, log, fetchLog),
  };
  links.bind(ctx);
  onProviderCreated((p) => wireNodeLoss(ctx, p));
  ctx.managed = new ManagedJobs(ctx);
  ctx.services = new Services(ctx);
  links.onAutostop = (cluster, marker) => void onAutostop(ctx, cluster, marker);

  let server: ApiServer | undefined;
  let socketIno: number | undefined;
  let stopping = false;
  const shutdown = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ why }, 'daemon stopping');
    ctx.managed?.controller.stop();
    ctx.services?.controller.stop();
    links.closeAll();
    ctx.planner.close();
    await server?.close().catch(() => undefined);
    // Only our own files: a daemon that replaced us (see retireUnreachableDaemon) keeps its own.
    if (socketIno !== undefined && inodeOf(paths.socket) === socketIno) rmSync(paths.socket, { force: true });
    if (readPid(paths.pidFile) === process.pid) rmSync(paths.pidFile, { force: true });
    await durability.close();
    log.flush();
    setTimeout(() => process.exit(0), 50);
  };

  const listen: string[] = [];
  const { rpc, streams } = createApi(ctx, {
    socket: paths.socket,
    startedAt,
    shutdown: () => void shutdown('api'),
    users,
    audit,
    listen: () => listen,
    state: { kind: durability.kind, location: durability.location },
  });
  server = new ApiServer({
    store,
    log,
    rpc,
    streams,
    authenticate: (token) => users.verify(token),
    rateLimit: serving.rateLimit,
    maxBodyBytes: serving.maxBodyBytes,
    maxUploadBytes: serving.maxUploadBytes,
    trustForwarded: serving.trustForwarded,
    upload: (body, caller, maxBytes) => {
      const source = (body as { headers?: Record<string, unknown> }).headers?.['x-aloft-source'];
      return receiveUpload(body, { home, caller, maxBytes, ...(typeof source === 'string' ? { source } : {}) });
    },
    onCalled: (caller, method, params, outcome) => {
      if (READ_ONLY_METHODS.has(method)) return;
      const err = outcome.error as { code?: string; message?: string } | undefined;
      const result = err ? 'failed' : 'ok';
      audit.record(caller, method, auditTarget(params, outcome.result), err?.code === 'FORBIDDEN' ? 'refused' : result, err?.message);
    },
  });
  try {
    await server.listen(paths.socket);
    socketIno = inodeOf(paths.socket);
  } catch (err) {
    if (errnoCode(err) !== 'EADDRINUSE') throw err;
    log.warn('another daemon bound the socket first; leaving');
    await durability.close();
    log.flush();
    signalReady();
    process.exit(0);
  }
  writeFileSync(paths.pidFile, String(process.pid), { mode: 0o600 });
  if (serving.tcp) {
    const { host, port } = serving.tcp;
    try {
      listen.push(await server.listenTcp(serving.tcp));
    } catch (err) {
      throw new Error(`cannot listen on ${host}:${port}: ${errnoCode(err) === 'EADDRINUSE' ? 'the address is in use' : errorMessage(err)}`);
    }
    log.info({ listen, state: durability.location }, 'API server listening');
  }
  // Uploads no live managed job needs are removed after a day (and checked hourly).
  const gcUploads = () => {
    try {
      const live = ctx.store.activeManaged().map((m) => JSON.stringify(ctx.store.managedTask(m.id)));
      const removed = collectUploads(home, (dir) => live.some((t) => t.includes(dir)));
      if (removed) log.info({ removed, dir: uploadsDir(home) }, 'removed old uploads');
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'upload cleanup failed');
    }
  };
  setInterval(gcUploads, 3600_000).unref();
  setTimeout(gcUploads, 60_000).unref();

  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('uncaughtException', (err) => {
    log.fatal({ err: errorMessage(err), stack: err.stack }, 'uncaught exception');
    log.flush();
  });
  process.on('unhandledRejection', (err) => {
    log.error({ err: errorMessage(err) }, 'unhandled rejection');
  });

  // Ready as soon as we answer; reconciling with agents happens in the background.
  signalReady();
  log.info({ socket: paths.socket }, 'daemon ready');
  // Managed jobs resume after clusters are reconciled, so they see the true state below them.
  void recoverAfterRestart(ctx)
    .catch((err) => log.error({ err: errorMessage(err) }, 'recovery failed'))
    .then(() => {
      const n = ctx.managed!.controller.resumeAll();
      if (n > 0) log.info({ jobs: n }, 'resumed managed jobs');
      const s = ctx.services!.controller.resumeAll();
      if (s > 0) log.info({ services: s }, 'resumed services');
      return startChaos(ctx);
    })
    // The planner parses the catalogs now, so the first launch or dry run does not pay for it.
    .then(() => ctx.planner.warm())
    .then(async () => {
      // The SDK of each provisionable infra with credentials here (a cloud, a kubeconfig), so the
      // first launch there does not wait for it.
      const { detectInfra, usableInfra } = await import('../catalog/detect.js');
      const { getProvider, PROVISIONABLE } = await import('./providers.js');
      for (const cloud of usableInfra(await detectInfra({})).filter((c) => PROVISIONABLE.includes(c) && c !== 'local' && c !== 'ssh')) {
        await (await getProvider(cloud, ctx.home)).warm?.().catch((err: unknown) => log.warn({ cloud, err: errorMessage(err) }, 'loading the cloud SDK failed'));
      }
    })
    .catch((err) => log.error({ err: errorMessage(err) }, 'managed-job resume failed'));
}

main().catch((err) => {
  process.stderr.write(`aloft daemon: ${errorMessage(err)}\n`);
  if (process.env.ALOFT_DEBUG) process.stderr.write(String((err as Error)?.stack) + '\n');
  process.exit(1);
});
