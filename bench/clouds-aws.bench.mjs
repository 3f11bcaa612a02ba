// Issue 11 (AWS part of the `clouds` group): on the EC2 fake (`npm run fake -- aws`, real sshd
// VMs booting in ALOFT_FAKE_BOOT_MS = 200 ms), through the real CLI, daemon and @aws-sdk/client-ec2:
//   - launch → RUNNING overhead: wall time minus the fake's own boot (RunInstances → VM's sshd up);
//   - failover across 5 zones: the extra wall time of a launch whose first 5 zones are out of
//     capacity (InsufficientInstanceCapacity) over one that lands at once;
//   - `status -r` over 100 AWS clusters (10 with --quick), and the EC2 calls it makes.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'aloft');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const BOOT_MS = 200;

async function startFake(dir) {
  const child = spawn(process.execPath, [join(root, 'node_modules', 'vite-node', 'vite-node.mjs'), join(root, 'test', 'fakes', 'main.ts'), '--', 'aws', '--write-config', dir], {
    cwd: root,
    env: { ...process.env, ALOFT_FAKE_BOOT_MS: String(BOOT_MS) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const deadline = Date.now() + 60_000;
  while (!/ready/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`aws fake did not start: ${out}`);
    await sleep(100);
  }
  const env = Object.fromEntries(
    readFileSync(join(dir, 'aws.env'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return { child, env, control: `${env.AWS_ENDPOINT_URL_EC2}/_fake/`, output: () => out };
}

export default async function ({ quick }) {
  const dir = mkdtempSync(join(tmpdir(), 'aloft-baws-'));
  const home = mkdtempSync(join(tmpdir(), 'aloft-bah-'));
  const fake = await startFake(join(dir, 'cfg'));
  const env = { ...process.env, ...fake.env, ALOFT_HOME: home, NO_COLOR: '1' };
  const aloftAll = (args) => {
    const r = spawnSync(process.execPath, [bin, ...args], { env, cwd: root, encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`aloft ${args.join(' ')}: ${r.stderr || r.stdout}`);
    return r;
  };
  const aloft = (args) => aloftAll(args).stdout;
  const call = async (what, body) => {
    const once = async () => (await fetch(fake.control + what, { method: 'POST', body: body ? JSON.stringify(body) : undefined })).json();
    return once().catch(once);
  };
  const rows = [];
  try {
    // Daemon up and the SDK loaded (once per daemon) before anything is timed.
    aloft(['launch', '-y', '-c', 'warm', '--infra', 'aws/us-east-1', '--cpus', '2', '--', 'true']);
    aloft(['down', '-y', 'warm']);

    // 1. launch → RUNNING
    const walls = [];
    const overheads = [];
    const boots = [];
    const stages = [];
    for (let i = 0; i < (quick ? 2 : 5); i++) {
      const name = `lat${i}`;
      const t0 = Date.now();
      const r = aloftAll(['launch', '-y', '-d', '-c', name, '--infra', 'aws/us-east-1', '--cpus', '2', '--', 'sleep 600']);
      const out = r.stdout + r.stderr;
      // When each stage began (seconds into the request), from the launch's own progress.
      stages.push(Object.fromEntries([...out.matchAll(/⚙ (\w+)[^(]*\((\d+\.\d)s\)/g)].map((m) => [m[1], Number(m[2])])));
      for (;;) {
        const jobs = JSON.parse(aloft(['queue', name, '-o', 'json']));
        if (jobs.some((j) => j.status === 'RUNNING')) break;
        await sleep(20);
      }
      const wall = Date.now() - t0;
      const boot = Math.max(...(await call('instances')).filter((x) => x.tags['aloft-cluster'] === name && x.bootedAfterMs !== undefined).map((x) => x.bootedAfterMs));
      walls.push(wall);
      boots.push(boot);
      overheads.push(wall - boot);
      aloft(['down', '-y', name]);
    }
    rows.push({ bench: 'clouds', metric: 'aws: launch → RUNNING, ours (wall − fake boot), p50', value: median(overheads), unit: 'ms', target: '≤ 2000 ms', note: `wall p50 ${median(walls)} ms, fake boot (RunInstances → sshd up) p50 ${median(boots)} ms, ${walls.length} launches; stages begin at (s, p50) ${['PROVISION', 'START_AGENTS', 'EXEC'].map((k) => `${k} ${median(stages.map((x) => x[k] ?? NaN)).toFixed(1)}`).join(', ')}` });

    // 2. failover across 5 zones
    const plan = JSON.parse(aloft(['launch', '--dryrun', '-o', 'json', '--infra', 'aws', '--cpus', '2', '--', 'true']));
    const zones = [plan.chosen, ...plan.alternatives].map((p) => p.zone).slice(0, 5);
    const extra = [];
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      for (const z of zones) await call('zone-failure', { zone: z, code: 'InsufficientInstanceCapacity' });
      const t0 = Date.now();
      aloft(['launch', '-y', '-c', `fo${i}`, '--infra', 'aws', '--cpus', '2', '--', 'true']);
      const failed = Date.now() - t0;
      for (const z of zones) await call('zone-failure', { zone: z });
      aloft(['down', '-y', `fo${i}`]);
      const t1 = Date.now();
      aloft(['launch', '-y', '-c', `ok${i}`, '--infra', 'aws', '--cpus', '2', '--', 'true']);
      const direct = Date.now() - t1;
      aloft(['down', '-y', `ok${i}`]);
      extra.push(failed - direct);
    }
    rows.push({ bench: 'clouds', metric: 'aws: failover across 5 zones (extra wall over a direct launch), p50', value: median(extra), unit: 'ms', target: '≤ 1000 ms', note: `zones ${zones.join(', ')}` });

    // 3. status -r over N clusters
    const n = quick ? 10 : 100;
    const names = Array.from({ length: n }, (_, i) => `s${i}`);
    for (let i = 0; i < names.length; i += 5) {
      await Promise.all(
        names.slice(i, i + 5).map(
          (name) =>
            new Promise((resolve, reject) => {
              const c = spawn(process.execPath, [bin, 'launch', '-y', '-d', '-c', name, '--infra', 'aws/us-east-2', '--cpus', '2', '--', 'true'], { env, cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
              let err = '';
              c.stderr.on('data', (d) => (err += d));
              c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`launch ${name} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`))));
            }),
        ),
      );
    }
    const times = [];
    const plain = [];
    let apiCalls = 0;
    for (let i = 0; i < 3; i++) {
      const p0 = Date.now();
      aloft(['status', '-o', 'json']);
      plain.push(Date.now() - p0);
      const before = (await call('calls')).count;
      const t0 = Date.now();
      const out = JSON.parse(aloft(['status', '-r', '-o', 'json']));
      times.push(Date.now() - t0);
      apiCalls = (await call('calls')).count - before;
      const up = out.filter((c) => c.status === 'UP').length;
      if (up !== n) throw new Error(`status -r: ${up} of ${n} clusters UP`);
    }
    rows.push({ bench: 'clouds', metric: `aws: status -r over ${n} clusters (CLI wall), p50`, value: median(times), unit: 'ms', target: '≤ 1000 ms', note: `${apiCalls} EC2 call(s) per refresh (one DescribeInstances per region), then each head agent; plain \`status\` (no refresh, same CLI) p50 ${median(plain)} ms` });
    aloft(['down', '-a', '-y']);
  } catch (err) {
    const tail = fake.output().trim().split('\n').slice(-5).join(' | ');
    throw new Error(`${err?.message ?? err}${fake.child.exitCode !== null ? ` (the fake exited ${fake.child.exitCode}: ${tail})` : ''}`);
  } finally {
    spawnSync(process.execPath, [bin, 'daemon', 'stop'], { env, timeout: 30_000 });
    fake.child.kill('SIGTERM');
    await new Promise((r) => fake.child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
  return rows;
}
