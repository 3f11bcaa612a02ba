// Issue 17.10: files and paths: the agent sockets' fallback directory is trusted only when it is
// ours and private, the state database is private, and a home too long for a socket says so.
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, REMOTE, ROOT, type AloftEnv } from '../helpers/cli.js';

const execFileP = promisify(execFile);
const bundle = join(ROOT, 'dist', 'agent', 'agent.cjs');
const uid = process.getuid!();

/** Starts an agent whose node dir is too deep for a socket path, so its socket goes to $TMPDIR/aloft-agents-<uid>. */
async function startDeepAgent(tmp: string): Promise<{ code: number; stdout: string; stderr: string; node: string }> {
  const node = join(mkdtempSync(join(tmpdir(), 'aloft-deep-')), 'x'.repeat(60), 'y'.repeat(60));
  try {
    const r = await execFileP(process.execPath, [bundle, 'start', '--dir', node], { env: { ...process.env, TMPDIR: tmp } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr, node };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr, node };
  }
}

async function stopAgent(out: string): Promise<void> {
  try {
    process.kill(JSON.parse(out.trim().split('\n').pop()!).pid, 'SIGTERM');
  } catch {
    /* not started */
  }
}

describe('files and paths (issue 17.10)', () => {
  let a: AloftEnv;
  beforeAll(() => {
    a = makeHome();
  });
  afterAll(async () => {
    await a.cleanup();
  });

  it('a world-writable socket fallback dir of ours is tightened to 0700; one that is not ours is refused', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'aloft-tmp-'));
    const dir = join(tmp, `aloft-agents-${uid}`);
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const ok = await startDeepAgent(tmp);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout.trim()).socket.startsWith(dir + '/')).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700); // (old: trusted as found, 0777)
    await stopAgent(ok.stdout);

    chownSync(dir, 65534, 65534); // someone else got there first
    const theirs = await startDeepAgent(tmp);
    expect(theirs.code).not.toBe(0);
    expect(theirs.stderr).toContain(`${dir} belongs to uid 65534, not to this user (${uid}); refusing to keep agent sockets there`);

    const tmp2 = mkdtempSync(join(tmpdir(), 'aloft-tmp-'));
    symlinkSync(dir, join(tmp2, `aloft-agents-${uid}`));
    const link = await startDeepAgent(tmp2);
    expect(link.code).not.toBe(0);
    expect(link.stderr).toContain('is not a directory (a symlink?); refusing to keep agent sockets there');
  });

  // a server with PostgreSQL state has no state.db
  it.skipIf(REMOTE)('state.db and its -wal and -shm files are 0600', async () => {
    const r = await a.run(['launch', '-y', '-c', 'f', '--', 'true']);
    expect(r.code, r.stderr).toBe(0);
    const files = readdirSync(a.home).filter((f) => f.startsWith('state.db'));
    expect(files.sort()).toEqual(['state.db', 'state.db-shm', 'state.db-wal']);
    for (const f of files) expect(statSync(join(a.home, f)).mode & 0o777, f).toBe(0o600);
  });

  // a remote client reaches its server over TCP: no unix socket under its home
  it.skipIf(REMOTE)('an ALOFT_HOME too long for a unix socket says so', async () => {
    const home = join(mkdtempSync(join(tmpdir(), 'aloft-long-')), 'h'.repeat(100));
    const r = await a.run(['status'], { env: { ALOFT_HOME: home } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `aloft: ALOFT_HOME is too long for the daemon's unix socket: ${home}/daemon.sock is ${Buffer.byteLength(home) + 12} bytes, the limit is 107; use a shorter ALOFT_HOME`,
    );
  });
});
