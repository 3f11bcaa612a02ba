// Issue 2: the real CLI, daemon, local provider and agents, end to end.
import { mkdtempSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRequest } from '../helpers/api.js';
import { makeHome, REMOTE, ROOT, waitFor, type AloftEnv } from '../helpers/cli.js';

describe('foundation: launch → logs → exec → status → down', () => {
  let a: AloftEnv;
  beforeAll(() => {
    a = makeHome();
  });
  afterAll(async () => {
    await a.cleanup();
  });

  it('launches the README example and streams its output', async () => {
    const r = await a.run(['launch', '-y', '-c', 'hello', 'examples/hello.yaml']);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack traces
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('hello from aloft: node 0 of 1');
    expect(r.stdout).toContain('This file was synced from your workdir to the node.');
    expect(r.stdout).toContain('setup on node 0');
    expect(r.stdout).toMatch(/task sky-\d{4}-/);
  });

  it('keeps ALOFT_HOME private: dir 0700, socket 0600', () => {
    expect(statSync(a.home).mode & 0o777).toBe(0o700);
    expect(statSync(join(a.home, 'daemon.sock')).mode & 0o777).toBe(0o600);
  });

  it('shows the cluster UP in status -o json', async () => {
    const r = await a.run(['status', '-o', 'json']);
    expect(r.code).toBe(0);
    const clusters = JSON.parse(r.stdout);
    expect(clusters).toHaveLength(1);
    expect(clusters[0]).toMatchObject({ name: 'hello', status: 'UP', infra: 'local', numNodes: 1 });
    // documented optional fields are present, as null when unset
    expect(clusters[0]).toMatchObject({ zone: null, autostop: null, statusReason: null });
  });

  it('execs a command on the cluster and exits with its status', async () => {
    const ok = await a.run(['exec', 'hello', '--', 'echo', 'exec-output-$SKYPILOT_NODE_RANK']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('exec-output-0');
    const bad = await a.run(['exec', 'hello', '--', 'exit 3']);
    // Issue 14.9: like `sky exec`, a failed job is exit 100; the job's own code is in the closing line.
    expect(bad.code).toBe(100);
    expect(bad.stderr).toMatch(/^Job submitted, ID: \d+$/m);
    expect(bad.stderr).toMatch(/^Job \d+ FAILED \(exit code 3\)\.$/m);
  });

  it('lists the jobs in the queue and replays logs', async () => {
    const q = await a.run(['queue', 'hello', '-o', 'json']);
    const jobs = JSON.parse(q.stdout) as Array<{ id: number; status: string }>;
    expect(jobs.map((j) => [j.id, j.status]).sort()).toEqual([
      [1, 'SUCCEEDED'],
      [2, 'SUCCEEDED'],
      [3, 'FAILED'],
    ]);
    const logs = await a.run(['logs', 'hello', '1', '--no-follow']);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain('hello from aloft');
    const tail = await a.run(['logs', 'hello', '2', '--no-follow', '--tail', '1']);
    expect(tail.stdout.trim()).toBe('exec-output-0');
  });

  it('output piped to a slow reader arrives whole (exec, logs)', async () => {
    const bin = join(ROOT, 'bin', 'aloft');
    // The reader starts late, so the CLI is done writing long before the pipe is drained.
    const piped = (cmd: string) =>
      execFileSync('sh', ['-c', `node ${bin} ${cmd} | (sleep 1; wc -c)`], { env: { ...process.env, ...a.env }, encoding: 'utf8' }).trim();
    const expected = String(Array.from({ length: 100000 }, (_, i) => `${i + 1}\n`).join('').length);
    expect(piped(`exec hello -- 'seq 1 100000'`)).toBe(expected);
    expect(piped('logs hello 4 --no-follow')).toBe(expected);
  });

  it('-o json keeps stdout pure JSON (the job output goes to stderr); SkyPilot flags --cloud/--region, -r, autostop -a', async () => {
    const r = await a.run(['exec', 'hello', '-o', 'json', '--', 'echo from-the-job']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ cluster: 'hello', job: { status: 'SUCCEEDED' } });
    expect(r.stderr).toContain('from-the-job');
    const plan = await a.run(['launch', '--dryrun', '-o', 'json', '--cloud', 'local', '--', 'echo']);
    expect(JSON.parse(plan.stdout).chosen).toMatchObject({ cloud: 'local' });
    const both = await a.run(['launch', '--dryrun', '--cloud', 'aws', '--infra', 'gcp', '--', 'echo']);
    expect(both.code).toBe(1);
    expect(both.stderr.trim()).toBe('aloft: --infra and --cloud/--region/--zone say the same thing; give one (e.g. --infra aws/us-east-1)');
    expect((await a.run(['launch', '--help'])).stdout).toMatch(/-r, --retry-until-up/);
    const ds = await a.run(['launch', '-y', '-s', '-c', 'hello', '--', 'echo detach-setup-ok']);
    expect(ds.code, ds.stderr).toBe(0);
    expect(ds.stdout).toContain('detach-setup-ok');
    const as = await a.run(['autostop', '-a', '-i', '30']);
    expect(as.code, as.stderr).toBe(0);
    expect(as.stderr).toContain('hello: autostop after 30 idle minute(s)');
    expect((await a.run(['autostop', '-a', '--cancel'])).code).toBe(0);
  });

  it('--env-file reads a dotenv file; --env wins over it', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'aloft-envf-')), 'vars.env');
    writeFileSync(f, '# comment\nA_VAR=from-file\nB_VAR="quoted value"\nC_VAR=file\n');
    const r = await a.run(['exec', 'hello', '--env-file', f, '--env', 'C_VAR=flag', '--', 'echo "$A_VAR|$B_VAR|$C_VAR"']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('from-file|quoted value|flag');
  });

  it('refuses websocket upgrades that carry an Origin header', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        apiRequest(a.home, '/v1/events', { Connection: 'Upgrade', Upgrade: 'websocket', Origin: 'http://evil.example', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' }),
      );
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('upgrade', () => resolve(101));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });

  it('down removes the cluster and leaves no process behind', async () => {
    const r = await a.run(['down', '-y', 'hello']);
    expect(r.code).toBe(0);
    const s = await a.run(['status', '-o', 'json']);
    expect(JSON.parse(s.stdout)).toEqual([]);
    const daemon = a.daemonPid();
    expect(a.leftoverProcesses().filter((p) => p !== daemon)).toEqual([]);
  });

  it('keeps logs after down', async () => {
    const logs = await a.run(['logs', 'hello', '1', '--no-follow']);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain('hello from aloft');
  });

  it('daemon status reports pid, version, socket and uptime', async () => {
    const r = await a.run(['daemon', 'status', '-o', 'json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info).toMatchObject({ running: true, pid: a.daemonPid(), socket: join(a.home, 'daemon.sock') });
    expect(typeof info.version).toBe('string');
    expect(typeof info.uptimeSeconds).toBe('number');
  });
});

describe('foundation: errors a user can cause', () => {
  let a: AloftEnv;
  let dir: string;
  beforeAll(() => {
    a = makeHome();
    dir = mkdtempSync(join(tmpdir(), 'aloft-yaml-'));
  });
  afterAll(async () => {
    await a.cleanup();
  });

  const oneLine = (s: string) => s.trim().split('\n').filter(Boolean);

  it('a misspelled key: file:line:col, the key, did you mean', async () => {
    const f = join(dir, 'typo.yaml');
    writeFileSync(f, 'name: t\nresources:\n  cpu: 2\nrun: echo hi\n');
    const r = await a.run(['launch', '-y', f]);
    expect(r.code).not.toBe(0);
    const lines = oneLine(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/typo\.yaml:3:3/);
    expect(lines[0]).toContain("'cpu'");
    expect(lines[0]).toContain("did you mean 'cpus'");
  });

  it('an env with a null value must be given with --env', async () => {
    const r = await a.run(['launch', '-y', 'examples/env-and-secret.yaml']);
    expect(r.code).not.toBe(0);
    const lines = oneLine(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/env-and-secret\.yaml:\d+:\d+/);
    expect(lines[0]).toContain('MODEL');
    expect(lines[0]).toContain('--env');
  });

  it('an unknown cluster', async () => {
    const r = await a.run(['exec', 'no-such-cluster', '--', 'echo', 'hi']);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toEqual(["aloft: cluster 'no-such-cluster' does not exist (see `aloft status`)"]);
  });

  it('an invalid cluster name', async () => {
    const r = await a.run(['launch', '-y', '-c', 'Bad_Name', '--', 'echo', 'hi']);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)[0]).toMatch(/invalid cluster name 'Bad_Name'/);
  });

  it('a bad flag value', async () => {
    const r = await a.run(['status', '-o', 'xml']);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toHaveLength(1);
  });

  it('exec on a stopped cluster says how to start it', async () => {
    const l = await a.run(['launch', '-y', '-d', '-c', 'stopme', '--', 'true']);
    expect(l.code).toBe(0);
    expect((await a.run(['stop', '-y', 'stopme'])).code).toBe(0);
    const r = await a.run(['exec', 'stopme', '--', 'echo', 'hi']);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toEqual(["aloft: cluster 'stopme' is STOPPED; start it with `aloft start stopme`"]);
    const s = await a.run(['start', 'stopme']);
    expect(s.code).toBe(0);
    const again = await a.run(['exec', 'stopme', '--', 'echo', 'back']);
    expect(again.stdout).toContain('back');
  });

  it('a launch asking for spot onto an on-demand cluster is refused', async () => {
    const r = await a.run(['launch', '-y', '-c', 'stopme', '--use-spot', '--', 'echo', 'hi']);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr).at(-1)).toBe("aloft: launch failed at OPTIMIZE: cluster 'stopme' runs on-demand nodes; the task asks for spot (use another cluster name)");
  });

  it('workdir sync honours .gitignore', async () => {
    const wd = join(dir, 'wd');
    mkdirSync(wd);
    writeFileSync(join(wd, '.gitignore'), 'secret.txt\n');
    writeFileSync(join(wd, 'keep.txt'), 'kept\n');
    writeFileSync(join(wd, 'secret.txt'), 'should not be synced\n');
    const r = await a.run(['exec', 'stopme', '--workdir', wd, '--', 'ls']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('keep.txt');
    expect(r.stdout).not.toContain('secret.txt');
  });
});

describe('foundation: the daemon', () => {
  let a: AloftEnv;
  beforeAll(() => {
    a = makeHome();
  });
  afterAll(async () => {
    await a.cleanup();
  });

  it('two CLIs started at once start one daemon', async () => {
    const rs = await Promise.all([1, 2, 3, 4, 5, 6].map(() => a.run(['status', '-o', 'json'])));
    for (const r of rs) expect(r.code, r.stderr).toBe(0);
    const infos = await Promise.all([1, 2].map(() => a.run(['daemon', 'status', '-o', 'json'])));
    const pids = new Set(infos.map((r) => JSON.parse(r.stdout).pid));
    expect(pids.size).toBe(1);
    const daemons = a.leftoverProcesses();
    expect(daemons).toEqual([a.daemonPid()]);
  });

  it('a second daemon started by hand leaves the serving one alone', async () => {
    const before = a.daemonPid();
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'daemon', 'main.js')], {
      env: { ...process.env, ALOFT_HOME: a.home },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const info = await a.run(['daemon', 'status', '-o', 'json']);
    expect(JSON.parse(info.stdout).pid).toBe(before);
    expect(a.leftoverProcesses()).toEqual([before]);
  });

  // Skipped in the team-server run: a remote client never starts or replaces the server (it still
  // answers over TCP when its socket file is gone, and its state problems are not the client's).
  it.skipIf(REMOTE)('a deleted socket: the next CLI replaces the unreachable daemon, never runs two', async () => {
    expect((await a.run(['status'])).code).toBe(0);
    const before = a.daemonPid()!;
    rmSync(join(a.home, 'daemon.sock'));
    const r = await a.run(['status', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const after = a.daemonPid()!;
    expect(after).not.toBe(before);
    await waitFor(() => a.leftoverProcesses().length === 1, 20_000, 'the old daemon gone');
    expect(a.leftoverProcesses()).toEqual([after]);
    // the old daemon left the new one's socket and pid file alone
    expect(JSON.parse((await a.run(['daemon', 'status', '-o', 'json'])).stdout).pid).toBe(after);
  });

  it.skipIf(REMOTE)('a daemon that cannot start: the CLI shows the tail of its log', async () => {
    const broken = makeHome();
    try {
      mkdirSync(join(broken.home, 'state.db')); // a directory where the database file should be
      const r = await broken.run(['status']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('the daemon exited with code 1 while starting; its log ends with:');
      expect(r.stderr).toContain('unable to open database file');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await broken.cleanup();
    }
  });

  it.skipIf(REMOTE)('a CLI of another version replaces the daemon cleanly', async () => {
    const before = a.daemonPid();
    const r = await a.run(['daemon', 'status', '-o', 'json'], { env: { ALOFT_VERSION_OVERRIDE: '9.9.9' } });
    // `daemon status` only probes; any command that needs the daemon replaces it.
    expect(JSON.parse(r.stdout).version).not.toBe('9.9.9');
    const s = await a.run(['status'], { env: { ALOFT_VERSION_OVERRIDE: '9.9.9' } });
    expect(s.code).toBe(0);
    const after = await a.run(['daemon', 'status', '-o', 'json']);
    const info = JSON.parse(after.stdout);
    expect(info.version).toBe('9.9.9');
    expect(info.pid).not.toBe(before);
    expect(() => process.kill(before!, 0)).toThrow();
  });
});
