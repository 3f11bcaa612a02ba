// Optimizer speed: one task over the shipped catalog and over a synthetic 100,000-row catalog,
// cold (fresh process: module import + catalog load + plan) and warm (catalog cached); and a
// 50-task DAG (per-task planning + ILP in a worker with a deadline). SkyPilot: 1.4-2.6 s per task.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = process.env.ALOFT_BENCH_DIST ?? join(here, '..', 'dist');
const mod = (p) => pathToFileURL(join(dist, p)).href;

const rs = (over = {}) => ({ infra: {}, useSpot: false, ports: [], labels: {}, ...over });
const task = (cands, name = 't', numNodes = 1) => ({
  name, numNodes, resources: { mode: cands.length > 1 ? 'any_of' : 'single', candidates: cands }, envs: {}, secrets: {}, fileMounts: [],
});
const GPU_TASK = task([rs({ accelerators: [{ name: 'A100', count: 8 }] })]);
const CPU_TASK = task([rs({ cpus: { value: 8, atLeast: true } })]);
const CTX = { usableClouds: ['aws', 'gcp', 'local'], liveOfferings: [{ cloud: 'local', region: 'local', resources: { cpus: 4, memoryGiB: 8, accelerators: {} }, available: 1 }] };

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Cold: a fresh node process imports the optimizer, loads the catalog and plans once. */
function coldMs(catalogDir, taskJson, runs) {
  const script = `
    const t0 = performance.now();
    const { planTask } = await import(${JSON.stringify(mod('optimizer/plan.js'))});
    const { loadCatalog } = await import(${JSON.stringify(mod('catalog/catalog.js'))});
    const ctx = ${JSON.stringify(catalogDir ? { ...CTX, usableClouds: ['synth'] } : CTX)};
    ${catalogDir ? `ctx.catalog = loadCatalog([${JSON.stringify(catalogDir)}]);` : ''}
    const p = planTask(${taskJson}, ctx);
    if (!p.chosen) throw new Error('no plan');
    process.stdout.write(String(performance.now() - t0));`;
  const out = [];
  for (let i = 0; i < runs; i++) out.push(Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })));
  return median(out);
}

function warmMs(planTask, t, ctx, runs) {
  planTask(t, ctx);
  const xs = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    planTask(t, ctx);
    xs.push(performance.now() - t0);
  }
  return median(xs);
}

/** 100,000 rows in AWS's column order: 500 shapes x 40 regions x 5 zones, a third with GPUs. */
export function syntheticCatalog(dir) {
  const rows = ['InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region,AvailabilityZone'];
  const gpus = ['A100', 'H100', 'L4', 'T4', 'A10G', 'L40S'];
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const shapes = [];
  for (let s = 0; s < 500; s++) {
    const cpus = [2, 4, 8, 16, 32, 48, 64, 96][s % 8];
    const gpu = s % 3 === 0 ? gpus[(s / 3) % gpus.length | 0] : '';
    const count = gpu ? [1, 2, 4, 8][Math.floor(s / 18) % 4] : '';
    shapes.push([`syn${s}.x${cpus}`, gpu, count, cpus, cpus * 4, (cpus * 0.05 + (gpu ? count * 1.5 : 0)) * (0.8 + rand() * 0.4)]);
  }
  for (const [type, gpu, count, cpus, mem, base] of shapes) {
    for (let r = 0; r < 40; r++) {
      const f = 0.9 + ((r * 7) % 13) / 40;
      for (const z of 'abcde') {
        const p = +(base * f).toFixed(5);
        rows.push(`${type},${gpu},${count},${cpus},${mem},,${p},${+(p * 0.4).toFixed(5)},reg-${r},reg-${r}${z}`);
      }
    }
  }
  mkdirSync(join(dir, 'synth'), { recursive: true });
  writeFileSync(join(dir, 'synth', 'vms.csv'), rows.join('\n') + '\n');
  return rows.length - 1;
}

function dag50() {
  const asks = [
    rs({ accelerators: [{ name: 'A100', count: 8 }] }),
    rs({ accelerators: [{ name: 'T4', count: 1 }] }),
    rs({ cpus: { value: 8, atLeast: true } }),
    rs({ accelerators: [{ name: 'L4', count: 1 }], useSpot: true }),
    rs({ accelerators: [{ name: 'H100', count: 8 }] }),
  ];
  const tasks = Array.from({ length: 50 }, (_, i) => task([asks[i % asks.length]], `t${i}`));
  const edges = [];
  for (let i = 1; i < 50; i++) {
    edges.push([i - 1, i]);
    if (i >= 3 && i % 3 === 0) edges.push([i - 3, i]);
  }
  return { tasks, edges };
}

export default async function ({ quick }) {
  const runs = quick ? 3 : 7;
  const warmRuns = quick ? 20 : 100;
  const { planTask } = await import(mod('optimizer/plan.js'));
  const { loadCatalog } = await import(mod('catalog/catalog.js'));
  const { planDag } = await import(mod('optimizer/dag.js'));
  const rows = [];
  const row = (metric, value, unit, target, note) => rows.push({ bench: 'optimizer', metric, value, unit, target, ...(note ? { note } : {}) });

  const shipped = loadCatalog();
  const n = shipped.offerings.length;
  row('one task, shipped catalog, cold (A100:8)', coldMs(undefined, JSON.stringify(GPU_TASK), runs), 'ms', '<= 300 ms', `${n} offerings, fresh process`);
  row('one task, shipped catalog, warm (A100:8)', warmMs(planTask, GPU_TASK, CTX, warmRuns), 'ms', '<= 20 ms');
  row('one task, shipped catalog, warm (cpus 8+)', warmMs(planTask, CPU_TASK, CTX, warmRuns), 'ms', '<= 20 ms');

  const dir = mkdtempSync(join(tmpdir(), 'aloft-bench-cat-'));
  try {
    const count = syntheticCatalog(dir);
    row('one task, 100k-row catalog, cold (cpus 8+)', coldMs(dir, JSON.stringify(CPU_TASK), runs), 'ms', '<= 300 ms', `${count} rows`);
    const synth = { ...CTX, usableClouds: ['synth'], catalog: loadCatalog([dir]) };
    row('one task, 100k-row catalog, warm (cpus 8+)', warmMs(planTask, CPU_TASK, synth, warmRuns), 'ms', '<= 20 ms');
    row('one task, 100k-row catalog, warm (A100:8)', warmMs(planTask, GPU_TASK, synth, warmRuns), 'ms', '<= 20 ms');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  loadCatalog();

  const dag = dag50();
  const xs = [];
  let method = '';
  for (let i = 0; i < (quick ? 2 : 5); i++) {
    const t0 = performance.now();
    const r = await planDag(dag, CTX, { egressGigabytes: 50, deadlineMs: 800 });
    xs.push(performance.now() - t0);
    method = r.method + (r.timedOut ? ' (ILP timed out)' : '');
  }
  row('50-task DAG (plan + ILP)', median(xs), 'ms', '<= 1000 ms', `${dag.edges.length} edges, solved by ${method}`);
  return rows;
}
