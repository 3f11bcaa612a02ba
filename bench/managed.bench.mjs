// Issue 7 benchmarks: the controller's own cost with 2,000 concurrent jobs on the in-process
// simulated cluster layer (memory per job, CPU while steady), cancelling 1,000 jobs, and on the
// real local infra: preemption → RECOVERING and → RUNNING again.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'aloft');

const task = { numNodes: 1, resources: { mode: 'single', candidates: [{ infra: {}, useSpot: true, ports: [], labels: {} }] }, envs: {}, secrets: {}, fileMounts: [], run: 'x' };

async function controllerCost(quick) {
  const { openDatabase } = await import(join(root, 'dist/daemon/db.js'));
  const { Store } = await import(join(root, 'dist/daemon/store.js'));
  const { ManagedJobController } = await import(join(root, 'dist/daemon/managed/controller.js'));
  const { SimBackend } = await import(join(root, 'dist/daemon/managed/sim-backend.js'));
  const dir = mkdtempSync(join(tmpdir(), 'aloft-mjb-'));
  const store = new Store(openDatabase(join(dir, 'state.db')));
  const backend = new SimBackend({ regions: ['r1', 'r2'], launchMs: 1, runMs: () => 3_600_000, exitCode: () => 0 });
  const controller = new ManagedJobController(store, backend, { retryBaseMs: 100, maxLaunchFailures: 3, unhealthyGraceMs: 1000, recheckMs: 60_000, loadTask: () => task });
  const n = quick ? 500 : 2000;
  global.gc?.();
  const before = process.memoryUsage();
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    const j = store.createManaged({ status: 'PENDING', resources: '1x[CPU:0.5]', submittedAt: Date.now(), jobDurationMs: 0, recoveries: 0, restartsOnErrors: 0, strategy: 'EAGER_NEXT_REGION', maxRestartsOnErrors: 0, recoverOnExitCodes: [], taskId: `t${i}`, attempts: [], blockedRegions: [], useSpot: true }, task);
    controller.start(j.id);
  }
  while (store.listManaged(n).filter((j) => j.status === 'RUNNING').length < n) await new Promise((r) => setTimeout(r, 50));
  const rampMs = Date.now() - t0;
  global.gc?.();
  await new Promise((r) => setTimeout(r, 200));
  const after = process.memoryUsage();
  const perJob = (after.heapUsed + after.external - before.heapUsed - before.external) / n;
  const cpu0 = process.cpuUsage();
  const w0 = Date.now();
  await new Promise((r) => setTimeout(r, quick ? 1000 : 3000));
  const cpu = process.cpuUsage(cpu0);
  const steadyCpu = ((cpu.user + cpu.system) / 1000) / (Date.now() - w0);
  // Preempt 10% and time their recovery (controller + sim only).
  const victims = Array.from(backend.clusters.keys()).slice(0, Math.floor(n / 10));
  const p0 = Date.now();
  for (const v of victims) backend.preempt(v);
  const ids = victims.map((v) => Number(v.slice(3)));
  while (ids.some((id) => { const j = store.getManaged(id); return j.status !== 'RUNNING' || j.recoveries < 1; })) await new Promise((r) => setTimeout(r, 10));
  const recoverMs = Date.now() - p0;
  // Cancel 1,000.
  const toCancel = store.listManaged(n).slice(0, Math.min(1000, n)).map((j) => j.id);
  const c0 = Date.now();
  for (const id of toCancel) controller.cancel(id);
  while (toCancel.some((id) => store.getManaged(id).status !== 'CANCELLED')) await new Promise((r) => setTimeout(r, 10));
  const cancelMs = Date.now() - c0;
  for (const j of store.activeManaged()) controller.cancel(j.id);
  controller.stop();
  store.db.close();
  rmSync(dir, { recursive: true, force: true });
  return [
    { bench: 'managed', metric: `${n} concurrent jobs: ramp to RUNNING`, value: rampMs, unit: 'ms', target: '' },
    { bench: 'managed', metric: 'daemon memory per job (heap+external)', value: perJob / 1024, unit: 'KiB', target: '≤ 512 KiB', note: 'SkyPilot ~18 MiB/job' },
    { bench: 'managed', metric: `CPU while ${n} jobs run steady`, value: steadyCpu * 100, unit: '% of a core', target: 'near idle' },
    { bench: 'managed', metric: `${victims.length} simultaneous preemptions → RUNNING again`, value: recoverMs, unit: 'ms', target: '' },
    { bench: 'managed', metric: `cancel ${toCancel.length} jobs`, value: cancelMs, unit: 'ms', target: '≤ 10000 ms', note: 'SkyPilot 5–10 min' },
  ];
}

async function localRecovery() {
  const home = mkdtempSync(join(tmpdir(), 'aloft-mjl-'));
  const env = { ...process.env, ALOFT_HOME: home, NO_COLOR: '1' };
  try {
    spawnSync(process.execPath, [bin, 'daemon', 'start'], { env });
    const { DaemonClient } = await import(join(root, 'dist/client/client.js'));
    const client = new DaemonClient({ home });
    const { job } = await client.call('jobsLaunch', { task: { ...task, resources: { mode: 'single', candidates: [{ infra: { cloud: 'local' }, useSpot: true, ports: [], labels: {} }] }, run: 'sleep 600' } });
    const get = async () => (await client.call('jobsQueue', {})).jobs.find((j) => j.id === job.id);
    const wait = async (pred, ms = 60_000) => {
      const d = Date.now() + ms;
      while (Date.now() < d) {
        const j = await get();
        if (pred(j)) return Date.now();
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('timeout');
    };
    await wait((j) => j.status === 'RUNNING');
    const p0 = Date.now();
    await client.call('preempt', { cluster: `mj-${job.id}` });
    const recovering = await wait((j) => j.status === 'RECOVERING' || j.recoveries > 0);
    const running = await wait((j) => j.status === 'RUNNING' && j.recoveries === 1);
    await client.call('jobsCancel', { ids: [job.id] });
    await wait((j) => j.status === 'CANCELLED');
    return [
      { bench: 'managed', metric: 'local preemption → RECOVERING', value: recovering - p0, unit: 'ms', target: '≤ 2000 ms', note: 'SkyPilot polls every 15 s, confirms up to 60 s' },
      { bench: 'managed', metric: 'local preemption → RUNNING again', value: running - p0, unit: 'ms', target: '≤ 5000 ms' },
    ];
  } finally {
    spawnSync(process.execPath, [bin, 'down', '-a', '-y'], { env });
    spawnSync(process.execPath, [bin, 'daemon', 'stop'], { env });
    rmSync(home, { recursive: true, force: true });
  }
}

export default async function ({ quick }) {
  return [...(await controllerCost(quick)), ...(await localRecovery())];
}
