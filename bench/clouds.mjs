// The `clouds` group's one procedure, run against each cloud's fake (clouds-aws.bench.mjs,
// clouds-gcp.bench.mjs): what differs per cloud — the fake's control calls, regions, notes — is
// passed in; what is measured and how is the same for every cloud.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin, median, root, sleep, startFake } from './lib.mjs';

/**
 * @param {object} c
 * @param {'aws'|'gcp'} c.cloud
 * @param {boolean} c.quick
 * @param {Record<string,string>} [c.fakeEnv] the fake process's extra env
 * @param {(env: Record<string,string>) => string} c.controlUrl the fake's control endpoint
 * @param {(env: Record<string,string>) => Record<string,string>} [c.cliEnv] extra env for the CLI
 * @param {string} c.region where the timed launches go; c.statusRegion the `status -r` clusters
 * @param {string} c.statusRegion
 * @param {(call, name: string) => Promise<number>} c.bootMs the fake's own boot of a cluster's VMs
 * @param {(call, zone: string, failing: boolean) => Promise<unknown>} c.setZoneFailure
 * @param {(call) => Promise<number>} c.apiCalls the fake's count of API calls so far
 * @param {boolean} [c.stages] also report when each launch stage began (from the CLI's progress)
 * @param {boolean} [c.plainStatus] also time a plain `status` (no refresh)
 * @param {{ boot: string, status: string }} c.notes
 */
export async function cloudBench(c) {
  const { cloud, quick } = c;
  const dir = mkdtempSync(join(tmpdir(), `aloft-b${cloud}-`));
  const home = mkdtempSync(join(tmpdir(), `aloft-b${cloud[0]}h-`));
  const fake = await startFake(cloud, join(dir, 'cfg'), c.fakeEnv);
  const control = c.controlUrl(fake.env);
  const env = { ...process.env, ...fake.env, ALOFT_HOME: home, ...c.cliEnv?.(fake.env), NO_COLOR: '1' };
  const aloftAll = (args) => {
    const r = spawnSync(process.execPath, [bin, ...args], { env, cwd: root, encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`aloft ${args.join(' ')}: ${r.stderr || r.stdout}`);
    return r;
  };
  const aloft = (args) => aloftAll(args).stdout;
  const call = async (path, body, method = 'POST') => {
    const once = async () => (await fetch(control + path, { method, body: body ? JSON.stringify(body) : undefined })).json();
    // An idle keep-alive socket the server is closing just then fails once; the next one works.
    return once().catch(once);
  };
  const rows = [];
  try {
    // Daemon up and the SDK loaded (once per daemon) before anything is timed.
    aloft(['launch', '-y', '-c', 'warm', '--infra', `${cloud}/${c.region}`, '--cpus', '2', '--', 'true']);
    aloft(['down', '-y', 'warm']);

    // 1. launch → RUNNING
    const walls = [];
    const overheads = [];
    const boots = [];
    const stages = [];
    for (let i = 0; i < (quick ? 2 : 5); i++) {
      const name = `lat${i}`;
      const t0 = Date.now();
      const r = aloftAll(['launch', '-y', '-d', '-c', name, '--infra', `${cloud}/${c.region}`, '--cpus', '2', '--', 'sleep 600']);
      const out = r.stdout + r.stderr;
      // When each stage began (seconds into the request), from the launch's own progress.
      stages.push(Object.fromEntries([...out.matchAll(/⚙ (\w+)[^(]*\((\d+\.\d)s\)/g)].map((m) => [m[1], Number(m[2])])));
      for (;;) {
        const jobs = JSON.parse(aloft(['queue', name, '-o', 'json']));
        if (jobs.some((j) => j.status === 'RUNNING')) break;
        await sleep(20);
      }
      const wall = Date.now() - t0;
      const boot = await c.bootMs(call, name);
      walls.push(wall);
      boots.push(boot);
      overheads.push(wall - boot);
      aloft(['down', '-y', name]);
    }
    const stageNote = c.stages ? `; stages begin at (s, p50) ${['PROVISION', 'START_AGENTS', 'EXEC'].map((k) => `${k} ${median(stages.map((x) => x[k] ?? NaN)).toFixed(1)}`).join(', ')}` : '';
    rows.push({ bench: 'clouds', metric: `${cloud}: launch → RUNNING, ours (wall − fake boot), p50`, value: median(overheads), unit: 'ms', target: '≤ 2000 ms', note: `wall p50 ${median(walls)} ms, fake boot (${c.notes.boot}) p50 ${median(boots)} ms, ${walls.length} launches${stageNote}` });

    // 2. failover across 5 zones
    const plan = JSON.parse(aloft(['launch', '--dryrun', '-o', 'json', '--infra', cloud, '--cpus', '2', '--', 'true']));
    const zones = [plan.chosen, ...plan.alternatives].map((p) => p.zone).slice(0, 5);
    const extra = [];
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      for (const z of zones) await c.setZoneFailure(call, z, true);
      const t0 = Date.now();
      aloft(['launch', '-y', '-c', `fo${i}`, '--infra', cloud, '--cpus', '2', '--', 'true']);
      const failed = Date.now() - t0;
      for (const z of zones) await c.setZoneFailure(call, z, false);
      aloft(['down', '-y', `fo${i}`]);
      const t1 = Date.now();
      aloft(['launch', '-y', '-c', `ok${i}`, '--infra', cloud, '--cpus', '2', '--', 'true']);
      const direct = Date.now() - t1;
      aloft(['down', '-y', `ok${i}`]);
      extra.push(failed - direct);
    }
    rows.push({ bench: 'clouds', metric: `${cloud}: failover across 5 zones (extra wall over a direct launch), p50`, value: median(extra), unit: 'ms', target: '≤ 1000 ms', note: `zones ${zones.join(', ')}` });

    // 3. status -r over N clusters
    const n = quick ? 10 : 100;
    const names = Array.from({ length: n }, (_, i) => `s${i}`);
    for (let i = 0; i < names.length; i += 5) {
      await Promise.all(names.slice(i, i + 5).map((name) => launchDetached(env, name, `${cloud}/${c.statusRegion}`)));
    }
    const times = [];
    const plain = [];
    let apiCalls = 0;
    for (let i = 0; i < 3; i++) {
      if (c.plainStatus) {
        const p0 = Date.now();
        aloft(['status', '-o', 'json']);
        plain.push(Date.now() - p0);
      }
      const before = await c.apiCalls(call);
      const t0 = Date.now();
      const out = JSON.parse(aloft(['status', '-r', '-o', 'json']));
      times.push(Date.now() - t0);
      apiCalls = (await c.apiCalls(call)) - before;
      const up = out.filter((x) => x.status === 'UP').length;
      if (up !== n) throw new Error(`status -r: ${up} of ${n} clusters UP`);
    }
    const plainNote = c.plainStatus ? `; plain \`status\` (no refresh, same CLI) p50 ${median(plain)} ms` : '';
    rows.push({ bench: 'clouds', metric: `${cloud}: status -r over ${n} clusters (CLI wall), p50`, value: median(times), unit: 'ms', target: '≤ 1000 ms', note: `${apiCalls} ${c.notes.status}${plainNote}` });
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

/** `aloft launch -d` of a trivial job as a child process; rejects with the tail of its stderr. */
function launchDetached(env, name, infra) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'launch', '-y', '-d', '-c', name, '--infra', infra, '--cpus', '2', '--', 'true'], { env, cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`launch ${name} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`))));
  });
}
