// Issue 12 benchmarks, on the real local infra (`aloft serve up` of the test replica program,
// test/fixtures/serve/server.mjs):
//   - requests/s and p50/p99 through the load balancer against straight to the replica (its
//     node's own address), and through nginx (apt) as the practical limit, side by side in one
//     run, with wrk (apt) or autocannon (devDependency) as the client;
//   - replica death → out of rotation, with traffic (the balancer ejects on the first refused
//     connection) and without (the controller hears the job end from the agent);
//   - `serve up` → READY, split into provisioning, the app's own start and aloft's overhead.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'aloft');
const fixtures = join(root, 'test', 'fixtures', 'serve');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const has = (tool) => spawnSync('bash', ['-c', `command -v ${tool}`]).status === 0;

function cli(env, args, cwd) {
  const r = spawnSync(process.execPath, [bin, ...args], { env, cwd, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`aloft ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const status = (env, name) => JSON.parse(cli(env, ['serve', 'status', '-o', 'json'])).find((s) => s.name === name);

async function until(fn, ms = 120_000, step = 20) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v) return v;
    await sleep(step);
  }
  throw new Error('timed out');
}

function lbState(home, name) {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: join(home, 'serve', name, 'lb.sock'), path: '/state', agent: false }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve(JSON.parse(b)));
    });
    req.on('error', reject);
    req.end();
  });
}

/** CPU time (ms) the processes have used so far. */
function cpuMs(pids) {
  let t = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1].split(' ');
      t += ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, in USER_HZ (100)
    } catch {
      /* gone */
    }
  }
  return t;
}

/** Live processes whose command line mentions `needle`, whose parent is `ppid` (when given), of this aloft home (when given). */
function pidsOf(needle, ppid, home) {
  const out = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'latin1');
      const after = stat.split(') ')[1].split(' ');
      if (after[0] === 'Z' || (ppid !== undefined && Number(after[1]) !== ppid)) continue;
      if (!readFileSync(`/proc/${e}/cmdline`, 'latin1').includes(needle)) continue;
      if (home && !readFileSync(`/proc/${e}/environ`, 'latin1').split('\0').some((kv) => kv.startsWith(`HOME=${home}/`) || kv.startsWith(`ALOFT_NODE_DIR=${home}/`))) continue;
      out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** One load run: wrk when installed (C, light on a 2-core box), else autocannon. */
async function load(url, seconds, connections) {
  if (has('wrk')) {
    const r = spawnSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url], { encoding: 'utf8' });
    const num = (re) => Number(re.exec(r.stdout)?.[1]);
    const ms = (re) => {
      const m = re.exec(r.stdout);
      if (!m) return NaN;
      return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
    };
    return { requests: num(/(\d+) requests in/), rps: num(/Requests\/sec:\s+([\d.]+)/), p50: ms(/50%\s+([\d.]+)(us|ms|s)/), p99: ms(/99%\s+([\d.]+)(us|ms|s)/), errors: num(/Non-2xx or 3xx responses:\s+(\d+)/) || 0, client: 'wrk' };
  }
  const { default: autocannon } = await import('autocannon');
  const r = await autocannon({ url, connections, duration: seconds });
  return { requests: r.requests.total, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.non2xx + r.errors, client: 'autocannon' };
}

function startNginx(dir, upstream, port, workers) {
  if (!has('nginx')) return undefined;
  const conf = join(dir, 'nginx.conf');
  mkdirSync(join(dir, 'nginx'), { recursive: true });
  writeFileSync(
    conf,
    `worker_processes ${workers};
daemon off;
pid ${dir}/nginx/nginx.pid;
error_log ${dir}/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx/body;
  proxy_temp_path ${dir}/nginx/proxy;
  fastcgi_temp_path ${dir}/nginx/fastcgi;
  uwsgi_temp_path ${dir}/nginx/uwsgi;
  scgi_temp_path ${dir}/nginx/scgi;
  upstream replica { server ${upstream}; keepalive 256; }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://replica; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }
  }
}
`,
  );
  const child = spawn('nginx', ['-c', conf, '-p', join(dir, 'nginx')], { stdio: 'ignore' });
  return child;
}

async function throughput(env, home, dir, quick) {
  // One replica behind the balancer, the one nginx proxies to and wrk reaches directly: the
  // three rows differ only by what stands between client and replica.
  const s = status(env, 'tp');
  const replica = s.replicas.find((r) => r.status === 'READY');
  const nginxPort = 30900 + Math.floor(Math.random() * 90);
  // CPU per request, the figure a busy 2-core box distorts least: the replicas' server
  // processes for every row, and the proxy's own process for the proxied ones.
  const replicaPids = pidsOf('server.mjs', undefined, home);
  if (replicaPids.length === 0) throw new Error('cannot find the replicas\' server processes');
  // every worker serving (they join after the first one listens)
  const lb = await until(async () => {
    const st = await lbState(home, 'tp');
    return st.workers === Math.max(1, st.workerPids?.length ?? 0) ? st : undefined;
  }, 30_000, 50);
  // as many nginx workers as the balancer has: the same cores to work with
  const nginx = startNginx(dir, replica.url.replace('http://', ''), nginxPort, lb.workers ?? 1);
  const lbWorkers = lb.workers ?? 1;
  const bases = [
    { name: 'straight to the replica', base: replica.url, proxyPids: () => [] },
    { name: `through the aloft load balancer (${lbWorkers === 1 ? '1 process' : `${lbWorkers} workers`})`, base: s.endpoint, proxyPids: () => [lb.pid, ...(lb.workerPids ?? [])] },
  ];
  if (nginx) {
    await until(() => new Promise((res) => http.get(`http://127.0.0.1:${nginxPort}/`, (r) => (r.resume(), res(r.statusCode === 200))).on('error', () => res(false))), 10_000, 50);
    bases.push({ name: `through nginx (${lbWorkers} worker${lbWorkers === 1 ? '' : 's'})`, base: `http://127.0.0.1:${nginxPort}`, proxyPids: () => pidsOf('nginx', nginx.pid) });
  }
  // The worst case for any proxy (a replica that answers at once, so every request is all proxy
  // work), one client at a time (the latency a proxy adds), and a replica that takes 10 ms to
  // answer (what a real service does: the proxy's cost is then a small part of each request).
  const scenarios = [
    { label: 'instant replica, 32 connections', path: '/', c: 32 },
    { label: 'instant replica, 1 connection', path: '/', c: 1 },
    { label: 'replica answering in 10 ms, 32 connections', path: '/slow?ms=10', c: 32 },
  ];
  const seconds = quick ? 3 : 6;
  const rounds = quick ? 1 : 3;
  const rows = [];
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  try {
    for (const b of bases) await load(`${b.base}/`, 1, 32); // warm connections and JITs
    for (const sc of scenarios) {
      const results = new Map(bases.map((b) => [b.name, []]));
      // interleaved rounds: a busy machine slows all three alike
      for (let i = 0; i < rounds; i++)
        for (const b of bases) {
          const proxy = b.proxyPids();
          const before = [cpuMs(replicaPids), cpuMs(proxy)];
          const r = await load(`${b.base}${sc.path}`, seconds, sc.c);
          const n = Math.max(1, r.requests ?? r.rps * seconds);
          results.get(b.name).push({ ...r, replicaUs: ((cpuMs(replicaPids) - before[0]) * 1000) / n, proxyUs: ((cpuMs(proxy) - before[1]) * 1000) / n });
        }
      const summary = bases.map((b) => {
        const rs = results.get(b.name);
        return {
          name: b.name,
          rps: median(rs.map((r) => r.rps)),
          p50: median(rs.map((r) => r.p50)),
          p99: median(rs.map((r) => r.p99)),
          replicaUs: median(rs.map((r) => r.replicaUs)),
          proxyUs: median(rs.map((r) => r.proxyUs)),
          errors: rs.reduce((a, r) => a + r.errors, 0),
          client: rs[0].client,
        };
      });
      const direct = summary[0];
      for (const x of summary) {
        const cost = x === direct ? '' : `; ${(((direct.rps - x.rps) / direct.rps) * 100).toFixed(1)}% fewer req/s, p50 ${x.p50 >= direct.p50 ? '+' : ''}${(x.p50 - direct.p50).toFixed(2)} ms`;
        rows.push({
          bench: 'serve',
          metric: `${sc.label}: ${x.name}`,
          value: x.rps,
          unit: `req/s, p50 ${x.p50.toFixed(2)} ms, p99 ${x.p99.toFixed(2)} ms`,
          target: x.name.includes('aloft') ? '≥ 90% req/s, p50 ≤ +1 ms' : '',
          note: `${x.client} -c${sc.c}, median of ${rounds}×${seconds}s${x.errors ? `, ${x.errors} errors` : ''}${cost}; CPU per request: replica ${x.replicaUs.toFixed(0)} µs${x === direct ? '' : `, proxy ${x.proxyUs.toFixed(0)} µs`}`,
        });
      }
    }
  } finally {
    nginx?.kill('SIGTERM');
  }
  return rows;
}

/** Kills one replica's server; how long until the balancer stops sending it requests. */
async function deathToOutOfRotation(env, home, withTraffic) {
  const s = await until(() => {
    const x = status(env, 'bench');
    return x.replicas.filter((r) => r.status === 'READY').length === 2 ? x : undefined;
  }, 120_000, 200);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  let stop = false;
  let failures = 0;
  let ok = 0;
  const traffic = withTraffic
    ? Array.from({ length: 4 }, async () => {
        while (!stop) {
          await new Promise((res) =>
            http
              .get(`${s.endpoint}/`, { agent }, (r) => {
                r.resume();
                r.on('end', () => {
                  if (r.statusCode === 200) ok++;
                  else failures++;
                  res();
                });
              })
              .on('error', () => (failures++, res())),
          );
        }
      })
    : [];
  await sleep(300);
  // the replica the next request goes to, by its pid
  const victim = await new Promise((res) => http.get(`${s.endpoint}/`, (r) => { let b = ''; r.on('data', (c) => (b += c)); r.on('end', () => res(JSON.parse(b))); }));
  const url = s.replicas.find((r) => String(r.id) === victim.replica).url;
  const t0 = Date.now();
  process.kill(victim.pid, 'SIGKILL');
  const out = await until(async () => {
    const st = await lbState(home, 'bench');
    const r = st.replicas.find((x) => x.url === url);
    return !r || r.ejected ? Date.now() : undefined;
  }, 30_000, 2);
  stop = true;
  await Promise.all(traffic);
  agent.destroy();
  return { ms: out - t0, failures, ok };
}

async function upToReady(env, dir, name) {
  const t0 = Date.now();
  cli(env, ['serve', 'up', '-y', '-n', name, join(dir, 'one.yaml')], dir);
  const lbUp = Date.now();
  const s = await until(() => {
    const x = status(env, name);
    return x?.replicas.some((r) => r.status === 'READY') ? x : undefined;
  }, 120_000, 20);
  const tReady = Date.now();
  const r = s.replicas.find((x) => x.status === 'READY');
  const log = cli(env, ['serve', 'logs', name, String(r.id), '--no-follow']);
  const listenAt = Number(/listening on \d+ at (\d+)/.exec(log)?.[1]);
  return { total: tReady - t0, lbUp: lbUp - t0, provision: r.startingAt - r.launchedAt, appStart: listenAt - r.startingAt, detect: r.readyAt - listenAt, beforeLaunch: r.launchedAt - t0 };
}

export default async function ({ quick }) {
  const home = mkdtempSync(join(tmpdir(), 'aloft-sb-'));
  const dir = mkdtempSync(join(tmpdir(), 'aloft-sbw-'));
  copyFileSync(join(fixtures, 'server.mjs'), join(dir, 'server.mjs'));
  const yaml = readFileSync(join(fixtures, 'service.yaml'), 'utf8');
  writeFileSync(join(dir, 'two.yaml'), yaml);
  writeFileSync(join(dir, 'one.yaml'), yaml.replace('replicas: 2', 'replicas: 1'));
  const env = { ...process.env, ALOFT_HOME: home, NO_COLOR: '1', ALOFT_SERVE_STATS_INTERVAL_MS: '500' };
  const rows = [];
  try {
    // serve up → READY (a fresh service, nothing else running)
    const ups = [];
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      ups.push(await upToReady(env, dir, `up${i}`));
      cli(env, ['serve', 'down', '-y', `up${i}`]);
    }
    const med = (k) => [...ups.map((u) => u[k])].sort((a, b) => a - b)[Math.floor(ups.length / 2)];
    rows.push({ bench: 'serve', metric: '`serve up` → first replica READY', value: med('total'), unit: 'ms', target: '', note: `median of ${ups.length}; load balancer up after ${med('lbUp')} ms` });
    rows.push({ bench: 'serve', metric: '· replica provisioned (cluster launch)', value: med('provision'), unit: 'ms', target: '' });
    rows.push({ bench: 'serve', metric: "· the replica's own start (job start → listening)", value: med('appStart'), unit: 'ms', target: '' });
    rows.push({ bench: 'serve', metric: '· aloft overhead: listening → READY (probe)', value: med('detect'), unit: 'ms', target: '', note: 'SkyServe probes every 10 s' });
    rows.push({ bench: 'serve', metric: '· aloft overhead: up → replica launch starts', value: med('beforeLaunch'), unit: 'ms', target: '' });

    cli(env, ['serve', 'up', '-y', '-n', 'tp', join(dir, 'one.yaml')], dir);
    await until(() => status(env, 'tp')?.replicas.filter((r) => r.status === 'READY').length === 1, 120_000, 200);
    rows.push(...(await throughput(env, home, dir, quick)));
    cli(env, ['serve', 'down', '-y', 'tp']);
    cli(env, ['serve', 'up', '-y', '-n', 'bench', join(dir, 'two.yaml')], dir);
    await until(() => status(env, 'bench')?.replicas.filter((r) => r.status === 'READY').length === 2, 120_000, 200);
    const busy = await deathToOutOfRotation(env, home, true);
    rows.push({ bench: 'serve', metric: 'replica death → out of rotation, under traffic', value: busy.ms, unit: 'ms', target: '≤ 1000 ms', note: `${busy.failures} failed of ${busy.ok + busy.failures} requests meanwhile` });
    const idle = await deathToOutOfRotation(env, home, false);
    rows.push({ bench: 'serve', metric: 'replica death → out of rotation, no traffic', value: idle.ms, unit: 'ms', target: '≤ 1000 ms', note: 'the agent reports the job ended; the controller drops it' });
  } finally {
    spawnSync(process.execPath, [bin, 'serve', 'down', '-a', '-y', '--purge'], { env, timeout: 120_000 });
    spawnSync(process.execPath, [bin, 'down', '-a', '-y'], { env, timeout: 120_000 });
    spawnSync(process.execPath, [bin, 'daemon', 'stop'], { env });
    rmSync(home, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
