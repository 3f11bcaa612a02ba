// Issue 17.2: a workdir that is missing, kernel state, or changes while it is synced fails the
// request with one line and releases the cluster's lock; it never hangs the daemon.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiTask, rpc } from '../helpers/api.js';
import { makeHome, REMOTE, waitFor, type AloftEnv } from '../helpers/cli.js';

describe('workdir sync failures (issue 17.2)', () => {
  let a: AloftEnv;
  const pause = { ALOFT_DEBUG_PAUSE_STAGE: 'SYNC_WORKDIR:3000' };
  beforeAll(async () => {
    a = makeHome();
    // The pause is read by the daemon: start it with the setting (only launches with a workdir stop there).
    await a.run(['daemon', 'start'], { env: pause });
    const r = await a.run(['launch', '-y', '-c', 'wd', '--', 'true'], { env: pause });
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await a.cleanup();
  });

  it('exec with a workdir of /nonexistent or /proc answers at once with one line', async () => {
    for (const [workdir, reason] of [
      ['/nonexistent-aloft', 'workdir: /nonexistent-aloft: no such file or directory'],
      ['/proc', 'workdir: /proc is on the proc pseudo filesystem (kernel state, not files to sync)'],
    ]) {
      const r = await rpc(a.home, 'exec', { cluster: 'wd', task: apiTask({ workdir }) });
      expect(r.status, r.text).toBe(400);
      // a remote caller (the remote run) may not name the server's paths at all: it uploads its workdir
      expect(r.body.error.message).toBe(
        REMOTE ? `workdir '${workdir}' is a path on the API server's machine; a remote client uploads its files instead (is this aloft client older than the server?)` : reason,
      );
    }
    // the same through the CLI: one line, exit 1
    const cli = await a.run(['exec', 'wd', '--workdir', '/proc', '--', 'true']);
    expect(cli.code).toBe(1);
    expect(cli.stderr.trim()).toBe('aloft: workdir: /proc is on the proc pseudo filesystem (kernel state, not files to sync)');
  });

  // through a server the workdir is uploaded before the request: the server syncs its own copy
  it.skipIf(REMOTE)('a workdir removed while the launch waits at SYNC_WORKDIR: one line, the request FAILED, the lock released', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aloft-wd-'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'f.txt'), 'x');
    const launch = a.run(['launch', '-y', '-c', 'wd', '--workdir', dir, '--', 'true'], { env: pause });
    await waitFor(async () => {
      const reqs = JSON.parse((await a.run(['requests', '-o', 'json'])).stdout) as Array<{ kind: string; stage?: string; status: string }>;
      return reqs.some((q) => q.kind === 'launch' && q.stage === 'SYNC_WORKDIR' && q.status === 'RUNNING');
    }, 20_000, 'launch at SYNC_WORKDIR');
    // `down` queues behind the launch's lock; it must get it once the launch fails.
    const down = a.run(['down', '-y', 'wd']);
    rmSync(dir, { recursive: true });
    const r = await launch;
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(`aloft: launch failed at SYNC_WORKDIR: workdir: ${dir}: no such file or directory`);
    const d = await down;
    expect(d.code, d.stderr).toBe(0);
    const reqs = JSON.parse((await a.run(['requests', '-o', 'json'])).stdout) as Array<{ status: string }>;
    expect(reqs.filter((q) => q.status === 'RUNNING')).toEqual([]);
    expect(JSON.parse((await a.run(['status', '-o', 'json'])).stdout)).toEqual([]);
  });
});
