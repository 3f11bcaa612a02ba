// Kubernetes benchmarks on the fake (which schedules at once and pulls no image, so these measure
// aloft's own overhead): launch → RUNNING for 1 and 16 pods, stage by stage; `aloft exec` → first
// line on a pod vs on a local cluster in the same run; planning over 5 contexts × 200 nodes, warm
// (the provider's per-context snapshot is fresh) and cold. The fake needs root (pods run in Linux
// namespaces); it runs as `npm run fake -- kubernetes` processes.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { bin, firstLine, pct, root, waitJob } from './lib.mjs';

/** Starts `npm run fake -- kubernetes --fixture F` and resolves once it prints its ready line. */
function startFake(fixture) {
  const dir = mkdtempSync(join(tmpdir(), `aloft-bench-k8s-${fixture}-`));
  const child = spawn('npm', ['run', '--silent', 'fake', '--', 'kubernetes', '--fixture', fixture, '--write-config', dir], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d) => {
      out += d;
      if (/ready/.test(out)) {
        child.stdout.off('data', onData);
        resolve({ dir, kubeconfig: join(dir, 'kubeconfig'), stop: () => stopFake(child, dir) });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`fake ${fixture} exited (${code}): ${out.slice(-500)}`)));
  });
}

async function stopFake(child, dir) {
  if (child.exitCode === null) {
    const gone = new Promise((r) => child.once('exit', r));
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
    await Promise.race([gone, new Promise((r) => setTimeout(r, 15_000))]);
  }
  rmSync(dir, { recursive: true, force: true });
}

/** One kubeconfig with each fake's context renamed ctx1..ctxN. */
function mergeKubeconfigs(paths, out) {
  const merged = { apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [], 'current-context': 'ctx1', preferences: {} };
  paths.forEach((p, i) => {
    const k = parse(readFileSync(p, 'utf8'));
    const n = `ctx${i + 1}`;
    merged.clusters.push({ name: n, cluster: k.clusters[0].cluster });
    merged.users.push({ name: n, user: k.users[0].user });
    merged.contexts.push({ name: n, context: { ...k.contexts[0].context, cluster: n, user: n } });
  });
  writeFileSync(out, stringify(merged), { mode: 0o600 });
}

function homeEnv(extra) {
  const home = mkdtempSync(join(tmpdir(), 'aloft-bench-k8s-'));
  return { home, env: { ...process.env, ALOFT_HOME: home, NO_COLOR: '1', ...extra } };
}

const aloft = (env, args) => spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 26 });

const task = (run, o = {}) => ({
  numNodes: o.numNodes ?? 1,
  resources: {
    mode: 'single',
    candidates: [{ infra: { cloud: o.cloud ?? 'kubernetes' }, useSpot: false, ports: [], labels: {}, cpus: { value: 0.5, atLeast: false }, memory: { value: 0.5, atLeast: false }, ...o.rs }],
  },
  envs: {},
  secrets: {},
  fileMounts: [],
  run,
});

/** launch → RUNNING through the daemon API, with each stage's duration. */
async function launchToRunning(client, cluster, t) {
  const t0 = Date.now();
  const { requestId } = await client.call('launch', { task: t, cluster });
  const stages = [];
  let failed;
  await client.streamRequest(requestId, (it) => {
    if (it.type === 'stage') stages.push([it.stage, it.ts]);
    if (it.type === 'done' && it.request.status !== 'SUCCEEDED') failed = it.request.error;
  }).done;
  if (failed) throw new Error(`launch of ${cluster} failed: ${failed}`);
  const running = await waitJob(client, cluster, 1, (s) => s === 'RUNNING', { timeoutMs: 120_000 });
  const parts = stages.map(([s, ts], i) => `${s} ${(i + 1 < stages.length ? stages[i + 1][1] : running) - ts}`);
  return { total: running - t0, parts: parts.join(', ') };
}

/** The fake's own pod start, without aloft: N plain pods (init + main container) created → Running. */
async function fakePodStart(kubeconfig, n) {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const api = kc.makeApiClient(k8s.CoreV1Api);
  const tag = `plain${Date.now()}`;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      api.createNamespacedPod({
        namespace: 'default',
        body: {
          metadata: { name: `${tag}-${i}`, labels: { bench: tag } },
          spec: {
            initContainers: [{ name: 'init', image: 'busybox', command: ['sh', '-c', 'echo ready > /shared/ready'], volumeMounts: [{ name: 'shared', mountPath: '/shared' }] }],
            containers: [{ name: 'main', image: 'busybox', command: ['sleep', 'infinity'], resources: { requests: { cpu: '100m' } }, volumeMounts: [{ name: 'shared', mountPath: '/shared' }] }],
            volumes: [{ name: 'shared', emptyDir: {} }],
          },
        },
      }),
    ),
  );
  for (;;) {
    const { items } = await api.listNamespacedPod({ namespace: 'default', labelSelector: `bench=${tag}` });
    if (items.filter((p) => p.status?.phase === 'Running').length === n) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const ms = Date.now() - t0;
  await api.deleteCollectionNamespacedPod({ namespace: 'default', labelSelector: `bench=${tag}`, gracePeriodSeconds: 0 });
  return ms;
}

export default async function ({ quick }) {
  if (process.getuid?.() !== 0) return [{ bench: 'k8s', metric: 'skipped', value: NaN, unit: '', target: '', note: 'the kubernetes fake needs root' }];
  const rows = [];
  const { DaemonClient } = await import(join(root, 'dist/client/client.js'));

  // Launches and exec on one fake with two 16-CPU nodes (room for 16 small pods).
  const fake = await startFake('cpu');
  const a = homeEnv({ KUBECONFIG: fake.kubeconfig });
  try {
    aloft(a.env, ['daemon', 'start']);
    // The daemon loads the SDK in the background after start; a dry run waits for it and warms
    // the context snapshot, as any earlier command of a session would.
    aloft(a.env, ['launch', '--dryrun', '--infra', 'k8s', '--', 'true']);
    const client = new DaemonClient({ home: a.home });
    // The fake's own pod start in the same run: what a launch on the fake costs that is not aloft's.
    const plain1 = await fakePodStart(fake.kubeconfig, 1);
    const one = await launchToRunning(client, 'k1', task('sleep 600'));
    rows.push({ bench: 'k8s', metric: 'launch → RUNNING, 1 pod', value: one.total, unit: 'ms', target: '≤ 1500 ms', note: `${one.parts} (ms); the fake alone starts a pod in ${plain1} ms` });
    const plain16 = await fakePodStart(fake.kubeconfig, 16);
    const many = await launchToRunning(client, 'k16', task('sleep 600', { numNodes: 16 }));
    rows.push({ bench: 'k8s', metric: 'launch → RUNNING, 16 pods', value: many.total, unit: 'ms', target: '≤ 3000 ms', note: `${many.parts} (ms); the fake alone starts 16 pods in ${plain16} ms` });
    aloft(a.env, ['down', 'k16', '-y']);

    // exec → first line: the same CLI path on a pod and on a local cluster.
    await launchToRunning(client, 'loc', task('sleep 600', { cloud: 'local', rs: { cpus: undefined, memory: undefined } }));
    const n = quick ? 5 : 15;
    const k8sTimes = [];
    const localTimes = [];
    for (let i = 0; i < n; i++) {
      k8sTimes.push(await firstLine([bin, 'exec', 'k1', '--', 'echo', 'x'], a.env));
      localTimes.push(await firstLine([bin, 'exec', 'loc', '--', 'echo', 'x'], a.env));
    }
    const k = pct(k8sTimes, 50);
    const l = pct(localTimes, 50);
    rows.push({ bench: 'k8s', metric: 'CLI exec → first line, pod (p50)', value: k, unit: 'ms', target: `≤ ${(1.5 * l).toFixed(0)} ms (1.5× local)`, note: `local ${l.toFixed(0)} ms in the same run: ${(k / l).toFixed(2)}×` });
  } finally {
    aloft(a.env, ['down', '-a', '-y']);
    aloft(a.env, ['daemon', 'stop']);
    rmSync(a.home, { recursive: true, force: true });
    await fake.stop();
  }

  // Planning: 5 contexts of 200 nodes each (A100, H100, MI300X, L4 and CPU nodes).
  const fakes = await Promise.all(Array.from({ length: 5 }, () => startFake('large')));
  const dir = mkdtempSync(join(tmpdir(), 'aloft-bench-k8s-kc-'));
  const kubeconfig = join(dir, 'kubeconfig');
  mergeKubeconfigs(fakes.map((f) => f.kubeconfig), kubeconfig);
  const b = homeEnv({ KUBECONFIG: kubeconfig });
  writeFileSync(join(b.home, 'config.yaml'), 'kubernetes:\n  allowed_contexts: [ctx1, ctx2, ctx3, ctx4, ctx5]\n');
  try {
    aloft(b.env, ['daemon', 'start']);
    aloft(b.env, ['launch', '--dryrun', '--infra', 'k8s', '--', 'true']);
    const client = new DaemonClient({ home: b.home });
    const plan = (t) => client.call('plan', { tasks: [t] });
    const gpu = task(undefined, { rs: { accelerators: [{ name: 'MI300X', count: 4 }], cpus: undefined, memory: undefined } });
    const warm = [];
    for (let i = 0; i < (quick ? 10 : 30); i++) {
      const s = performance.now();
      await plan(gpu);
      warm.push(performance.now() - s);
    }
    // Cold: every context's snapshot older than its 3 s freshness: 5 × (nodes + pods) listed again.
    await new Promise((r) => setTimeout(r, 3200));
    const s = performance.now();
    await plan(gpu);
    const cold = performance.now() - s;
    rows.push({ bench: 'k8s', metric: 'plan, 5 contexts × 200 nodes, warm (p50)', value: pct(warm, 50), unit: 'ms', target: '≤ 50 ms', note: `daemon plan RPC; p90 ${pct(warm, 90).toFixed(1)} ms; cold (re-list all 5) ${cold.toFixed(0)} ms` });
  } finally {
    aloft(b.env, ['daemon', 'stop']);
    rmSync(b.home, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    await Promise.all(fakes.map((f) => f.stop()));
  }
  return rows;
}
