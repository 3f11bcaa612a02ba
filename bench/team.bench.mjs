// Issue 15: a team API server. (A) `status` through a TCP server with PostgreSQL state next to the
// local SQLite daemon, same data, same run — through the CLI and at the API — and the cost of the
// durability barrier on `exec -d`; (B) N concurrent clients, each with its own token, cycling
// status / queue -s / exec -d against one server for D seconds: errors, lost or duplicated jobs,
// latency percentiles. PostgreSQL here is durable (fsync, synchronous commit), as in production.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'aloft');
const dist = (p) => join(root, 'dist', p);

const pct = (xs, p) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

function aloft(env, args) {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`aloft ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

function timeCli(args, env, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    aloft(env, args);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times;
}

async function timeApi(call, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await call();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times;
}

/** CPU seconds used so far by a process (and, with `children`, by its live child processes). */
function cpuSeconds(pid, children = false) {
  const tick = 100; // USER_HZ on Linux
  const of = (p) => {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'latin1');
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
      return { ppid: Number(rest[1]), cpu: (Number(rest[11]) + Number(rest[12])) / tick };
    } catch {
      return undefined;
    }
  };
  let total = of(pid)?.cpu ?? 0;
  if (children) for (const e of readdirSync('/proc')) if (/^\d+$/.test(e) && of(e)?.ppid === pid) total += of(e).cpu;
  return total;
}

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

const task = (run, infra = { cloud: 'local' }) => ({ numNodes: 1, resources: { mode: 'single', candidates: [{ infra, useSpot: false, ports: [], labels: {} }] }, envs: {}, secrets: {}, fileMounts: [], ...(run ? { run } : {}) });

/** The same clusters and jobs in a Store, whatever its backend (STOPPED: no agents needed). */
function seed(store, clusters, jobs) {
  const per = Math.ceil(jobs / clusters);
  store.tx(() => {
    for (let i = 0; i < clusters; i++) {
      const name = `seed-${i}`;
      store.putCluster({ name, uid: `u${i}`, status: 'STOPPED', cloud: 'aws', region: 'us-east-1', infra: 'aws/us-east-1', numNodes: 1, resources: '1x(cpus=8, mem=32GiB)', useSpot: false, hourlyPrice: 0.4, launchedAt: Date.now() - i * 1000, updatedAt: Date.now(), user: `user${i % 10}` });
      for (let j = 1; j <= per; j++) {
        store.putJob({ cluster: name, clusterUid: `u${i}`, id: j, status: 'SUCCEEDED', numNodes: 1, demand: { cpus: 0.5, gpus: 0 }, resources: '1x[CPU:0.5]', submittedAt: Date.now(), startedAt: Date.now(), endedAt: Date.now(), taskId: `t${i}-${j}`, user: `user${i % 10}` });
      }
    }
  });
}

async function launchCluster(client, name) {
  const { requestId } = await client.call('launch', { task: task(undefined), cluster: name });
  let final;
  await client.streamRequest(requestId, (it) => {
    if (it.type === 'done') final = it.request;
  }).done;
  if (final?.status !== 'SUCCEEDED') throw new Error(`launch ${name}: ${final?.error}`);
}

export default async function ({ quick }) {
  const rows = [];
  const [{ startPostgres }, { DaemonClient }, { openDatabase }, { Store }, { PgMirror }] = await Promise.all([
    import(join(root, 'scripts', 'pg-cluster.mjs')),
    import(dist('client/client.js')),
    import(dist('daemon/db.js')),
    import(dist('daemon/store.js')),
    import(dist('daemon/state/pg-mirror.js')),
  ]);
  const pg = await startPostgres({ durable: true });
  const homes = [];
  const home = (p) => {
    const h = mkdtempSync(join(tmpdir(), p));
    homes.push(h);
    return h;
  };
  const local = home('aloft-bl-');
  const server = home('aloft-bs-');
  const envOf = (h, extra = {}) => ({ ...process.env, ALOFT_HOME: h, NO_COLOR: '1', ...extra });
  try {
    // ---- A: the same state on both backends ----
    const clusters = 200;
    const jobs = 2000;
    const lite = new Store(openDatabase(join(local, 'state.db')));
    seed(lite, clusters, jobs);
    lite.db.close();
    const db = await pg.createDatabase();
    const mirror = await PgMirror.open({ url: db });
    seed(new Store(mirror.db, mirror), clusters, jobs);
    await mirror.close();

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    aloft(envOf(local), ['daemon', 'start']);
    aloft(envOf(server), ['api', 'start', '--host', '127.0.0.1', '--port', String(port), '--db', db]);
    const admin = new DaemonClient({ home: server });
    await admin.call('usersAdd', { name: 'bench' });
    const { token } = await admin.call('tokensCreate', { user: 'bench' });
    const clientHome = home('aloft-bc-');
    const remoteEnv = envOf(clientHome, { ALOFT_API_SERVER_ENDPOINT: url, ALOFT_API_TOKEN: token });
    const n = quick ? 5 : 20;
    const cliLocal = timeCli(['status'], envOf(local), n);
    const cliRemote = timeCli(['status'], remoteEnv, n);
    const scale = `${clusters} clusters + ${jobs} jobs`;
    rows.push({ bench: 'team', metric: `CLI status, ${scale}: local SQLite daemon (p50)`, value: pct(cliLocal, 50), unit: 'ms', target: '' });
    rows.push({ bench: 'team', metric: `CLI status, ${scale}: TCP server, PostgreSQL state (p50)`, value: pct(cliRemote, 50), unit: 'ms', target: '≤ 1000 ms', note: `${(pct(cliRemote, 50) / pct(cliLocal, 50)).toFixed(2)}× local` });
    const m = quick ? 50 : 300;
    const localClient = new DaemonClient({ home: local });
    const remoteClient = new DaemonClient({ home: clientHome, endpoint: { kind: 'tcp', url, token } });
    const apiLocal = await timeApi(() => localClient.call('status', {}), m);
    const apiRemote = await timeApi(() => remoteClient.call('status', {}), m);
    rows.push({ bench: 'team', metric: `API status, ${scale}: unix socket, SQLite (p50 / p99)`, value: pct(apiLocal, 50), unit: 'ms', target: '', note: `p99 ${pct(apiLocal, 99).toFixed(1)} ms` });
    rows.push({ bench: 'team', metric: `API status, ${scale}: TCP + token, PostgreSQL (p50 / p99)`, value: pct(apiRemote, 50), unit: 'ms', target: '', note: `p99 ${pct(apiRemote, 99).toFixed(1)} ms` });

    // exec -d: a write, so an answer with PostgreSQL state waits for the durability barrier
    await launchCluster(localClient, 'bx');
    await launchCluster(remoteClient, 'bx');
    const execLocal = await timeApi(() => localClient.call('exec', { cluster: 'bx', task: task('true') }), m / 2);
    const execRemote = await timeApi(() => remoteClient.call('exec', { cluster: 'bx', task: task('true') }), m / 2);
    rows.push({ bench: 'team', metric: 'API exec -d: unix socket, SQLite (p50 / p99)', value: pct(execLocal, 50), unit: 'ms', target: '', note: `p99 ${pct(execLocal, 99).toFixed(1)} ms` });
    rows.push({ bench: 'team', metric: 'API exec -d: TCP + token, PostgreSQL, durable before the answer (p50 / p99)', value: pct(execRemote, 50), unit: 'ms', target: '', note: `p99 ${pct(execRemote, 99).toFixed(1)} ms` });
    aloft(envOf(local), ['down', '-a', '-y']);

    // ---- B: N clients, each with its own token, cycling status / queue -s / exec -d ----
    const users = 10;
    const clientsN = quick ? 100 : 500;
    const seconds = quick ? 10 : 60;
    const loaders = [];
    for (let u = 0; u < users; u++) {
      await admin.call('usersAdd', { name: `load${u}` });
      const t = (await admin.call('tokensCreate', { user: `load${u}` })).token;
      const c = new DaemonClient({ home: clientHome, endpoint: { kind: 'tcp', url, token: t } });
      await launchCluster(c, `load-${u}`);
    }
    for (let i = 0; i < clientsN; i++) {
      const u = i % users;
      const t = (await admin.call('tokensCreate', { user: `load${u}`, label: `client ${i}` })).token;
      loaders.push({ u, client: new DaemonClient({ home: clientHome, endpoint: { kind: 'tcp', url, token: t } }) });
    }
    const lat = { status: [], queue: [], exec: [] };
    const errors = [];
    const submitted = new Map(); // cluster → job ids the server answered
    const serverPid = (await admin.call('info', {})).pid;
    const cpu0 = { server: cpuSeconds(serverPid), pg: cpuSeconds(pg.pid, true), self: process.cpuUsage() };
    const end = Date.now() + seconds * 1000;
    const ops = ['status', 'queue', 'exec'];
    await Promise.all(
      loaders.map(async ({ u, client }, i) => {
        for (let k = i; Date.now() < end; k++) {
          const op = ops[k % 3];
          const cluster = `load-${u}`;
          const t0 = process.hrtime.bigint();
          try {
            if (op === 'status') await client.call('status', {});
            else if (op === 'queue') await client.call('queue', { cluster, skipFinished: true });
            else {
              const { jobId } = await client.call('exec', { cluster, task: task('true') });
              if (!submitted.has(cluster)) submitted.set(cluster, []);
              submitted.get(cluster).push(jobId);
            }
            lat[op].push(Number(process.hrtime.bigint() - t0) / 1e6);
          } catch (err) {
            errors.push(`${op}: ${err?.message ?? err}`);
          }
        }
      }),
    );
    const total = lat.status.length + lat.queue.length + lat.exec.length;
    const self = process.cpuUsage(cpu0.self);
    const usage = {
      server: (cpuSeconds(serverPid) - cpu0.server) / seconds,
      pg: (cpuSeconds(pg.pid, true) - cpu0.pg) / seconds,
      clients: (self.user + self.system) / 1e6 / seconds,
    };
    // Every job the server said it submitted is on its cluster exactly once, and no other.
    let lost = 0;
    let duplicated = 0;
    let extra = 0;
    for (let u = 0; u < users; u++) {
      const cluster = `load-${u}`;
      const ids = submitted.get(cluster) ?? [];
      duplicated += ids.length - new Set(ids).size;
      const { jobs: onCluster } = await admin.call('queue', { cluster });
      const known = new Set(onCluster.map((j) => j.id));
      lost += ids.filter((id) => !known.has(id)).length;
      extra += onCluster.length - new Set(ids).size;
    }
    const all = [...lat.status, ...lat.queue, ...lat.exec];
    rows.push({ bench: 'team', metric: `${clientsN} clients: CPU of the API server / PostgreSQL / the bench's clients`, value: usage.server * 100, unit: '% of a core', target: '', note: `PostgreSQL ${(usage.pg * 100).toFixed(0)} %, clients ${(usage.clients * 100).toFixed(0)} % (the rest: the nodes' agents and jobs, other processes)` });
    rows.push({ bench: 'team', metric: `${clientsN} clients × ${seconds} s: requests`, value: total / seconds, unit: 'req/s', target: '', note: `${total} answered; ${lat.exec.length} exec -d` });
    rows.push({ bench: 'team', metric: `${clientsN} clients: errors`, value: errors.length, unit: '', target: '0', note: errors[0] ?? '' });
    rows.push({ bench: 'team', metric: `${clientsN} clients: jobs lost / duplicated / unexpected`, value: lost + duplicated + extra, unit: '', target: '0', note: `${lost} / ${duplicated} / ${extra} of ${lat.exec.length}` });
    rows.push({ bench: 'team', metric: `${clientsN} clients: latency, all requests (p50 / p99)`, value: pct(all, 50), unit: 'ms', target: '', note: `p99 ${pct(all, 99).toFixed(0)} ms, max ${Math.max(...all).toFixed(0)} ms` });
    for (const op of ops) {
      rows.push({ bench: 'team', metric: `${clientsN} clients: ${op === 'queue' ? 'queue -s' : op === 'exec' ? 'exec -d' : op} (p50 / p99)`, value: pct(lat[op], 50), unit: 'ms', target: '', note: `p99 ${pct(lat[op], 99).toFixed(0)} ms` });
    }
  } finally {
    spawnSync(process.execPath, [bin, 'down', '-a', '-u', '-y'], { env: envOf(server) });
    spawnSync(process.execPath, [bin, 'api', 'stop'], { env: envOf(server) });
    spawnSync(process.execPath, [bin, 'down', '-a', '-y'], { env: envOf(local) });
    spawnSync(process.execPath, [bin, 'daemon', 'stop'], { env: envOf(local) });
    await pg.stop();
    for (const h of homes) rmSync(h, { recursive: true, force: true });
  }
  return rows;
}
