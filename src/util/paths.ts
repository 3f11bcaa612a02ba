import { mkdirSync, chmodSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** ALOFT_HOME, default ~/.aloft: all of aloft's state lives here. */
export function aloftHome(): string {
  const env = process.env.ALOFT_HOME;
  return env && env.length > 0 ? resolve(env) : join(homedir(), '.aloft');
}

/** Creates ALOFT_HOME with mode 0700 (and tightens it if it already exists). */
export function ensureHome(home = aloftHome()): string {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  try {
    if ((statSync(home).mode & 0o077) !== 0) chmodSync(home, 0o700);
  } catch {
    /* a home we cannot chmod is still usable; the socket itself is 0600 */
  }
  return home;
}

export const homePaths = (home = aloftHome()) => ({
  home,
  socket: join(home, 'daemon.sock'),
  lock: join(home, 'daemon.lock'),
  pidFile: join(home, 'daemon.pid'),
  log: join(home, 'daemon.log'),
  db: join(home, 'state.db'),
  logs: join(home, 'logs'),
  local: join(home, 'local'),
  config: join(home, 'config.yaml'),
});

/** Root of the aloft package (where package.json, dist/ and catalog/ live). */
export function packageRoot(): string {
  // dist/util/paths.js or src/util/paths.ts → two levels up
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export function agentBundlePath(): string {
  return join(packageRoot(), 'dist', 'agent', 'agent.cjs');
}
