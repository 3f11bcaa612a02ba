// Starts the daemon on first use. A start lock (O_EXCL file) makes sure two CLIs started at once
// never start two daemons: the loser waits for the winner's socket. Readiness is a handshake (the
// daemon writes "ready" on an inherited pipe), not a sleep loop. A daemon of another version is
// asked to stop and replaced.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, linkSync, openSync, readFileSync, rmSync, unlinkSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DaemonInfo } from '../protocol/api.js';
import { daemonEnv } from '../util/env.js';
import { UserError } from '../util/errors.js';
import { errnoCode, liveDaemonPid, pidAlive, waitForExit } from '../util/process.js';
import { ensureHome, homePaths, packageRoot } from '../util/paths.js';
import { aloftVersion } from '../util/version.js';
import { DaemonBusy, DaemonUnreachable, postJson, type Endpoint } from './http.js';

const START_TIMEOUT_MS = 30_000;

/** The daemon's info, or undefined when nobody serves the socket. A busy daemon throws DaemonBusy. */
export async function probe(socket: string, timeoutMs = 10_000): Promise<DaemonInfo | undefined> {
  try {
    return (await postJson(socket, '/v1/rpc/info', {}, timeoutMs)) as DaemonInfo;
  } catch (err) {
    if (err instanceof DaemonUnreachable && !(err instanceof DaemonBusy)) return undefined;
    throw err;
  }
}

/** How long the daemon may take to answer `info` before the CLI says it is waiting for it. */
const BUSY_NOTICE_MS = 5_000;

/**
 * A daemon that holds the socket and runs, but does not answer, is busy: wait for it, saying so.
 * It is never replaced (that would abort whatever it is doing). Resolves with its info once it
 * answers, or undefined once it is gone (the caller starts a new one).
 */
async function waitForBusyDaemon(home: string, firstError: DaemonBusy): Promise<DaemonInfo | undefined> {
  const paths = homePaths(home);
  const started = Date.now();
  let noted = false;
  for (;;) {
    const pid = liveDaemonPid(paths.pidFile);
    if (pid === undefined && Date.now() - started > START_TIMEOUT_MS) {
      throw new UserError(`something holds ${paths.socket} but does not answer (${firstError.message}), and no aloft daemon runs for ${home}; remove the socket if nothing should be there`);
    }
    if (!noted) {
      noted = true;
      process.stderr.write(`aloft: the daemon${pid ? ` (pid ${pid})` : ''} is busy and has not answered for ${BUSY_NOTICE_MS / 1000}s; waiting for it…\n`);
    }
    try {
      return await probe(paths.socket, 30_000);
    } catch (err) {
      if (!(err instanceof DaemonBusy)) throw err;
      process.stderr.write(`aloft: still waiting for the daemon${pid ? ` (pid ${pid})` : ''} (${Math.round((Date.now() - started) / 1000)}s)…\n`);
    }
  }
}

/** The longest unix socket path the kernel takes (sun_path is 108 bytes with its NUL). */
export const MAX_SOCKET_PATH = 107;

export function tailFile(path: string, lines = 12): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no daemon log)';
  }
}

/**
 * Takes the start lock. The lock appears atomically with the holder's pid in it (written to a
 * private file, then hard-linked into place), so a racing CLI never reads a half-written lock and
 * mistakes it for a stale one.
 */
function tryLock(lock: string): boolean {
  const mine = `${lock}.${process.pid}`;
  writeFileSync(mine, String(process.pid), { mode: 0o600 });
  try {
    linkSync(mine, lock);
    return true;
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
  } finally {
    rmSync(mine, { force: true });
  }
  let holder: number;
  try {
    holder = Number(readFileSync(lock, 'utf8').trim() || '0');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return tryLock(lock); // released between our link and read
    throw err;
  }
  if (holder > 0 && pidAlive(holder)) return false;
  // The CLI that held it died mid-start; take the lock over.
  rmSync(lock, { force: true });
  return tryLock(lock);
}

/** Resolves when the lock file goes away or the socket appears (another CLI is starting the daemon). */
function waitForOtherStarter(home: string, lock: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const watcher = watch(home, () => {
      if (!existsSync(lock)) finish();
    });
    const timer = setTimeout(finish, timeoutMs);
    // Re-check after arming the watcher: the lock may have gone in between.
    if (!existsSync(lock)) finish();
    function finish() {
      clearTimeout(timer);
      watcher.close();
      resolve();
    }
  });
}

function startDaemonProcess(home: string): Promise<void> {
  const paths = homePaths(home);
  const entry = join(packageRoot(), 'dist', 'daemon', 'main.js');
  const logFd = openSync(paths.log, 'a', 0o600);
  const child = spawn(process.execPath, [entry], {
    detached: true,
    stdio: ['ignore', logFd, logFd, 'pipe'],
    // Never the whole shell: see util/env.ts.
    env: { ...daemonEnv(process.env), ALOFT_HOME: home, ALOFT_READY_FD: '3' },
  });
  closeSync(logFd);
  return new Promise((resolve, reject) => {
    const ready = child.stdio[3] as NodeJS.ReadableStream;
    let got = '';
    let settled = false;
    const done = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.unref();
      (ready as unknown as { destroy(): void }).destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(
      () => done(new UserError(`the daemon did not become ready in ${START_TIMEOUT_MS / 1000}s; its log ends with:\n${tailFile(paths.log)}`)),
      START_TIMEOUT_MS,
    );
    ready.on('data', (c: Buffer) => {
      got += c.toString();
      if (got.includes('ready')) done();
    });
    // Exit 0 while starting: it found another daemon serving this home; the caller probes again.
    child.on('exit', (code) =>
      code === 0
        ? done()
        : done(new UserError(`the daemon exited with code ${code} while starting; its log ends with:\n${tailFile(paths.log)}`)),
    );
    child.on('error', (err) => done(new UserError(`could not start the daemon: ${err.message}`)));
  });
}

/** Makes sure a daemon of this version serves ALOFT_HOME; starts or replaces it as needed. */
export async function ensureDaemon(home: string): Promise<DaemonInfo> {
  const paths = homePaths(home);
  if (Buffer.byteLength(paths.socket) > MAX_SOCKET_PATH) {
    throw new UserError(
      `ALOFT_HOME is too long for the daemon's unix socket: ${paths.socket} is ${Buffer.byteLength(paths.socket)} bytes, the limit is ${MAX_SOCKET_PATH}; use a shorter ALOFT_HOME`,
    );
  }
  ensureHome(home);
  const version = aloftVersion();
  const deadline = Date.now() + START_TIMEOUT_MS * 2;
  // Answers or busy: a busy daemon is waited for, outside the start-up deadline.
  const current = async (): Promise<DaemonInfo | undefined> => {
    try {
      return await probe(paths.socket, BUSY_NOTICE_MS);
    } catch (err) {
      if (err instanceof DaemonBusy) return waitForBusyDaemon(home, err);
      throw err;
    }
  };
  while (Date.now() < deadline) {
    const info = await current();
    if (info && info.version === version) return info;
    if (!tryLock(paths.lock)) {
      await waitForOtherStarter(home, paths.lock, START_TIMEOUT_MS);
      continue;
    }
    try {
      const again = await current();
      if (again && again.version === version) return again;
      if (again) {
        // Another version: ask it to leave, then take its place.
        await postJson(paths.socket, '/v1/rpc/shutdown', {}, 10_000).catch(() => undefined);
        if (!(await waitForExit(again.pid, 15_000))) {
          try {
            process.kill(again.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      await startDaemonProcess(home);
    } finally {
      try {
        unlinkSync(paths.lock);
      } catch {
        /* already gone */
      }
    }
  }
  throw new UserError(`could not reach or start the daemon for ${home} within ${(START_TIMEOUT_MS * 2) / 1000}s; see ${paths.log}`);
}

/**
 * A remote API server (team mode) is never started by a client: it must answer. With
 * ALOFT_API_WAIT_SECONDS=N a client rides out a server restart (N seconds of refused connections).
 * A server that takes the connection but does not answer is busy, not gone: as with the local
 * daemon, the client waits for it, saying so, outside that deadline.
 */
export async function ensureRemote(endpoint: Extract<Endpoint, { kind: 'tcp' }>): Promise<DaemonInfo> {
  const waitMs = Number(process.env.ALOFT_API_WAIT_SECONDS ?? '0') * 1000;
  const deadline = Date.now() + waitMs;
  let busySince: number | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      return (await postJson(endpoint, '/v1/rpc/info', {}, busySince === undefined ? BUSY_NOTICE_MS : 30_000)) as DaemonInfo;
    } catch (err) {
      if (err instanceof DaemonBusy) {
        process.stderr.write(
          busySince === undefined
            ? `aloft: the API server at ${endpoint.url} is busy and has not answered for ${BUSY_NOTICE_MS / 1000}s; waiting for it…\n`
            : `aloft: still waiting for the API server at ${endpoint.url} (${Math.round((Date.now() - busySince) / 1000)}s)…\n`,
        );
        busySince ??= Date.now() - BUSY_NOTICE_MS;
        continue;
      }
      if (!(err instanceof DaemonUnreachable)) throw err;
      if (Date.now() >= deadline) throw new UserError(`${err.message}; is it running? (\`aloft api logout\` goes back to the local daemon)`);
      await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
    }
  }
}

/** Polls the server's `info` until it answers (or `timeoutMs` passes: the last error). */
export async function waitForServer(endpoint: Endpoint, timeoutMs: number): Promise<DaemonInfo> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return (await postJson(endpoint, '/v1/rpc/info', {}, 10_000)) as DaemonInfo;
    } catch (err) {
      if (!(err instanceof DaemonUnreachable) || Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
    }
  }
}
