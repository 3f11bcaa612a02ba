// Issue 3 benchmarks: CLI start-up vs `node -e 0`, `status` empty and at scale, launch → RUNNING
// by stage, exec submit → first output line, and trivial jobs per second on one cluster.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin, firstLine, pct, root, waitJob } from './lib.mjs';

function timeCmd(argv, env, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, argv, { env, encoding: 'utf8', maxBuffer: 1 << 30 });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  }
  return times;
}

function homeEnv() {
  const home = mkdtempSync(join(tmpdir(), 'aloft-b-'));
  // The daemon's user has an empty home: local nodes' homes are seeded from it, and every job
  // sources the node's ~/.bashrc (bash -i, as SkyPilot) — a user's own ~/.bashrc (pyenv init
  // takes ~0.25 s of CPU here) is the user's cost, not aloft's.
  const user = join(home, 'user');
  mkdirSync(user);
  return { home, env: { ...process.env, ALOFT_HOME: home, HOME: user, NO_COLOR: '1' } };
}

function aloft(env, args) {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`aloft ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function seed(home, clusters, jobs) {
  const { openDatabase } = await import(join(root, 'dist/daemon/db.js'));
  const { Store } = await import(join(root, 'dist/daemon/store.js'));
  const store = new Store(openDatabase(join(home, 'state.db')));
  const perCluster = Math.ceil(jobs / clusters);
  let made = 0;
  store.tx(() => {
    for (let i = 0; i < clusters; i++) {
      const name = `seed-${i}`;
      store.putCluster({ name, uid: `u${i}`, status: 'STOPPED', cloud: 'aws', region: 'us-east-1', infra: 'aws/us-east-1', numNodes: 1, resources: '1x(cpus=8, mem=32GiB)', useSpot: false, hourlyPrice: 0.4, launchedAt: Date.now() - i * 1000, updatedAt: Date.now() });
      for (let j = 1; j <= perCluster && made < jobs; j++, made++) {
        store.putJob({ cluster: name, clusterUid: `u${i}`, id: j, status: 'SUCCEEDED', numNodes: 1, demand: { cpus: 0.5, gpus: 0 }, resources: '1x[CPU:0.5]', submittedAt: Date.now(), startedAt: Date.now(), endedAt: Date.now(), taskId: `t${i}-${j}` });
      }
    }
  });
  store.db.close();
}

export default async function ({ quick }) {
  const rows = [];
  const n = quick ? 5 : 20;
  const nodeTimes = timeCmd(['-e', '0'], process.env, n);
  const nodeP50 = pct(nodeTimes, 50);
  rows.push({ bench: 'cli', metric: 'node -e 0 (p50)', value: nodeP50, unit: 'ms', target: '' });

  // status, warm daemon, empty
  const a = homeEnv();
  try {
    aloft(a.env, ['daemon', 'start']);
    const empty = timeCmd([bin, 'status'], a.env, n);
    rows.push({ bench: 'cli', metric: 'status, empty (p50)', value: pct(empty, 50), unit: 'ms', target: `≤ ${(2.5 * nodeP50).toFixed(0)} ms (2.5× node)`, note: `${(pct(empty, 50) / nodeP50).toFixed(2)}× node -e 0` });

    // launch → RUNNING, stage by stage (in-process client to read the stage timestamps): the
    // median of several fresh clusters (one launch is too noisy on a shared machine), 1 and 2 nodes.
    const { DaemonClient } = await import(join(root, 'dist/client/client.js'));
    const client = new DaemonClient({ home: a.home });
    const launchOnce = async (cluster, numNodes) => {
      const t0 = Date.now();
      const { requestId } = await client.call('launch', { task: { ...trivialTask('sleep 600'), numNodes }, cluster });
      const stages = [];
      await client.streamRequest(requestId, (it) => {
        if (it.type === 'stage') stages.push([it.stage, it.ts]);
        if (it.type === 'done' && it.request.status !== 'SUCCEEDED') throw new Error(it.request.error);
      }).done;
      const running = await waitJob(client, cluster, 1, (st) => st === 'RUNNING');
      const byStage = {};
      for (let i = 0; i < stages.length; i++) byStage[stages[i][0]] = (i + 1 < stages.length ? stages[i + 1][1] : running) - stages[i][1];
      return { total: running - t0, byStage };
    };
    const samples = [];
    for (let i = 0; i < (quick ? 3 : 7); i++) samples.push(await launchOnce(i === 0 ? 'bench' : `bench-${i}`, 1));
    for (const st of Object.keys(samples[0].byStage)) {
      rows.push({ bench: 'launch', metric: `stage ${st} (p50)`, value: pct(samples.map((x) => x.byStage[st] ?? 0), 50), unit: 'ms', target: '' });
    }
    rows.push({ bench: 'launch', metric: 'launch → RUNNING (local, p50)', value: pct(samples.map((x) => x.total), 50), unit: 'ms', target: '≤ 1000 ms', note: `${samples.length} launches, p90 ${pct(samples.map((x) => x.total), 90).toFixed(0)} ms; SkyPilot on k8s ~60 s` });
    const two = [];
    for (let i = 0; i < 3; i++) two.push(await launchOnce(`bench2-${i}`, 2));
    rows.push({ bench: 'launch', metric: 'launch → RUNNING, 2 nodes (local, p50)', value: pct(two.map((x) => x.total), 50), unit: 'ms', target: '≤ 1000 ms', note: '3 launches' });
    const downs = [];
    for (const c of [...samples.slice(1).map((_, i) => `bench-${i + 1}`), ...two.map((_, i) => `bench2-${i}`)]) {
      const s0 = Date.now();
      aloft(a.env, ['down', '-y', c]);
      downs.push(Date.now() - s0);
    }
    rows.push({ bench: 'launch', metric: 'down of a running cluster, CLI (p50)', value: pct(downs, 50), unit: 'ms', target: '', note: `${downs.length} clusters: agents and jobs killed, nodes (and namespaces) removed` });

    // exec submit → first output line, through the real CLI and in-process
    const cliTimes = [];
    for (let i = 0; i < (quick ? 5 : 20); i++) cliTimes.push(await firstLine([bin, 'exec', 'bench', '--', 'echo', 'x'], a.env));
    rows.push({ bench: 'exec', metric: 'CLI exec → first line (p50)', value: pct(cliTimes, 50), unit: 'ms', target: '≤ 100 ms', note: `p90 ${pct(cliTimes, 90).toFixed(0)} ms; includes node start-up; SkyPilot ~2.7 s` });
    const apiTimes = [];
    for (let i = 0; i < (quick ? 5 : 20); i++) {
      const s = Date.now();
      const { jobId } = await client.call('exec', { cluster: 'bench', task: trivialTask('echo x') });
      await new Promise((resolve, reject) => {
        const h = client.streamLogs({ cluster: 'bench', job: jobId, follow: true }, (it) => {
          if (it.type === 'text') {
            h.abort();
            resolve();
          }
        });
        h.done.catch(reject);
      });
      apiTimes.push(Date.now() - s);
    }
    rows.push({ bench: 'exec', metric: 'API exec → first line (p50)', value: pct(apiTimes, 50), unit: 'ms', target: '≤ 100 ms', note: `p90 ${pct(apiTimes, 90).toFixed(0)} ms; daemon+agent path only` });

    // throughput
    await client.call('cancel', { cluster: 'bench', all: true });
    const jobsN = quick ? 200 : 1000;
    const s = Date.now();
    const ids = [];
    const batch = 50;
    for (let i = 0; i < jobsN; i += batch) {
      const rs = await Promise.all(Array.from({ length: Math.min(batch, jobsN - i) }, () => client.call('exec', { cluster: 'bench', task: trivialTask('true') })));
      ids.push(...rs.map((r) => r.jobId));
    }
    const last = Math.max(...ids);
    await waitJob(client, 'bench', last, (st) => st === 'SUCCEEDED' || st === 'FAILED', { timeoutMs: 600_000, pollMs: 50 });
    const secs = (Date.now() - s) / 1000;
    rows.push({ bench: 'jobs', metric: `${jobsN} trivial jobs: throughput`, value: jobsN / secs, unit: 'jobs/s', target: '≥ 100 jobs/s' });
    aloft(a.env, ['down', '-y', 'bench']);
  } finally {
    spawnSync(process.execPath, [bin, 'down', '-a', '-y'], { env: a.env });
    spawnSync(process.execPath, [bin, 'daemon', 'stop'], { env: a.env });
    rmSync(a.home, { recursive: true, force: true });
  }

  // Local provisioning alone (in-process): nodes with their own namespaces vs plain directories.
  try {
    const { LocalProvider } = await import(join(root, 'dist/providers/local/provider.js'));
    const dir = mkdtempSync(join(tmpdir(), 'aloft-bp-'));
    const isolated = new LocalProvider(join(dir, 'iso'), { userHome: join(dir, 'nouser') });
    const plain = new LocalProvider(join(dir, 'plain'), { namespaces: async () => false });
    const support = await isolated.isolation();
    const time = async (prov, numNodes) => {
      const ts = [];
      for (let i = 0; i < (quick ? 3 : 7); i++) {
        const t = process.hrtime.bigint();
        await prov.runInstances({ cluster: `p${i}`, clusterUid: 'x', numNodes, resources: {} });
        ts.push(Number(process.hrtime.bigint() - t) / 1e6);
        await prov.terminateInstances(`p${i}`);
      }
      return pct(ts, 50);
    };
    rows.push({ bench: 'local', metric: 'provision 1 node, plain directory (p50)', value: await time(plain, 1), unit: 'ms', target: '' });
    if (support.fs && support.net) {
      rows.push({ bench: 'local', metric: 'provision 1 node, own namespaces + address (p50)', value: await time(isolated, 1), unit: 'ms', target: '', note: 'subnet claim, bridge, netns+veth, mount/uts ns + root, NAT' });
      rows.push({ bench: 'local', metric: 'provision 2 nodes, own namespaces + addresses (p50)', value: await time(isolated, 2), unit: 'ms', target: '' });
    }
    rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    if (!/Cannot find module|isolation/.test(String(err))) throw err;
  }

  // status at scale
  const b = homeEnv();
  try {
    const clusters = 2000;
    const jobs = 12500;
    await seed(b.home, clusters, jobs);
    aloft(b.env, ['daemon', 'start']);
    const big = timeCmd([bin, 'status'], b.env, quick ? 3 : 10);
    rows.push({ bench: 'cli', metric: `status, ${clusters} clusters + ${jobs} jobs (p50)`, value: pct(big, 50), unit: 'ms', target: '≤ 1000 ms', note: 'SkyPilot up to 18 s' });
    const bigJson = timeCmd([bin, 'queue', '-o', 'json'], b.env, quick ? 3 : 5);
    rows.push({ bench: 'cli', metric: `queue -o json, ${jobs} jobs (p50)`, value: pct(bigJson, 50), unit: 'ms', target: '' });
  } finally {
    spawnSync(process.execPath, [bin, 'daemon', 'stop'], { env: b.env });
    rmSync(b.home, { recursive: true, force: true });
  }
  return rows;
}

function trivialTask(run) {
  return { numNodes: 1, resources: { mode: 'single', candidates: [{ infra: { cloud: 'local' }, useSpot: false, ports: [], labels: {} }] }, envs: {}, secrets: {}, fileMounts: [], run };
}
