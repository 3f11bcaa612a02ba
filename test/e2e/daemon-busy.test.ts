// Issue 17.3: a daemon that is alive and holds its socket but does not answer (busy, or stopped)
// is waited for with a message, never replaced by the next CLI call or a second daemon.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, makeHome, REMOTE, ROOT, waitFor, type AloftEnv } from '../helpers/cli.js';
import { remoteApiOf } from '../helpers/remote.js';

describe('a busy daemon (issue 17.3)', () => {
  let a: AloftEnv;
  let pid: number;
  beforeAll(async () => {
    a = makeHome();
    expect((await a.run(['status'])).code).toBe(0);
    pid = a.daemonPid()!;
  });
  afterAll(async () => {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      /* gone */
    }
    await a.cleanup();
  });

  it('the next CLI waits for it, saying so, and gets its answer once it is back', async () => {
    // SIGSTOP: alive, socket in place, connections taken by the kernel, nothing answered.
    process.kill(pid, 'SIGSTOP');
    const child = spawn(process.execPath, [BIN, 'status', '-o', 'json'], { env: { ...process.env, ...a.env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    const exited = new Promise<number>((r) => child.on('close', (c) => r(c ?? -1)));
    await waitFor(() => err.includes('is busy'), 30_000, 'the busy message');
    expect(err).toContain(
      REMOTE
        ? `aloft: the API server at ${remoteApiOf(a.home)!.url} is busy and has not answered for 5s; waiting for it…`
        : `aloft: the daemon (pid ${pid}) is busy and has not answered for 5s; waiting for it…`,
    );
    process.kill(pid, 'SIGCONT');
    expect(await exited).toBe(0);
    expect(JSON.parse(out)).toEqual([]);
    expect(a.daemonPid()).toBe(pid);
    expect(a.leftoverProcesses()).toEqual([pid]);
  });

  it('a second daemon started meanwhile leaves it, its socket and its pid file alone', async () => {
    process.kill(pid, 'SIGSTOP');
    try {
      const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'daemon', 'main.js')], {
        env: { ...process.env, ALOFT_HOME: a.home },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status, r.stderr).toBe(0);
      expect(existsSync(join(a.home, 'daemon.sock'))).toBe(true);
      expect(a.daemonPid()).toBe(pid);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const info = JSON.parse((await a.run(['daemon', 'status', '-o', 'json'])).stdout);
    expect(info.pid).toBe(pid);
  });
});
