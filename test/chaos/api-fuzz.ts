// The API fuzzer: every method with parameters of the wrong type field by field, prototype names,
// malformed and huge bodies, bad stream queries and websocket sequence numbers, and slow clients.
// Nothing may answer 5xx or hang, the daemon must survive, and no state may change (only bodies
// the method's own schema refuses are sent to methods that act).
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { API_PARAMS } from '../../src/protocol/schemas.js';
import { apiRequest, apiTask, eventsSocket } from '../helpers/api.js';
import { remoteApiOf } from '../helpers/remote.js';
import type { AloftEnv } from '../helpers/cli.js';
import { cli, clusters, daemonAlive, rng, sleep, type Tally } from './lib.js';

export interface ApiFuzzOptions {
  /** wrong values tried per field (all of them when larger than the list) */
  valuesPerField: number;
  slowClients: number;
  hugeBody: boolean;
  seed: number;
}

const WRONG: unknown[] = [null, 0, -1, 1.5, 1e300, '', 'x', true, [], {}, [1, 'a', null], JSON.parse('{"__proto__": {"polluted": 1}}'), '__proto__', 'constructor', 'a'.repeat(100_000), { a: { b: { c: [] } } }];

/** Methods that change something: only bodies their schema refuses are sent to them. */
const ACTING = new Set(['shutdown', 'launch', 'exec', 'cancel', 'stop', 'start', 'down', 'autostop', 'jobsLaunch', 'jobsCancel', 'preempt']);

function baselines(cluster: string): Record<string, Record<string, unknown>> {
  const task = apiTask({ run: 'echo fuzz' });
  return {
    info: {},
    shutdown: {},
    launch: { task, cluster: 'fuzz-new' },
    exec: { cluster, task },
    plan: { tasks: [task] },
    status: { clusters: [cluster], refresh: false },
    queue: { cluster, skipFinished: true },
    cancel: { cluster, jobIds: [999] },
    stop: { clusters: [cluster] },
    start: { clusters: [cluster], idleMinutes: 5 },
    down: { clusters: [cluster], purge: false },
    autostop: { clusters: [cluster], idleMinutes: 5, down: false },
    requests: { all: true },
    jobsLaunch: { task, name: 'fuzz' },
    jobsQueue: { skipFinished: true },
    jobsCancel: { ids: [999] },
    preempt: { cluster },
    nodeTarget: { cluster, rank: 0 },
    nodeIps: { cluster },
    snapshot: {},
  };
}

/** Every path to a field of `v` (objects and arrays, three levels deep). */
function paths(v: unknown, depth = 3, at: (string | number)[] = []): (string | number)[][] {
  if (depth === 0 || v === null || typeof v !== 'object') return [];
  const out: (string | number)[][] = [];
  for (const [k, child] of Object.entries(v)) {
    const p = [...at, Array.isArray(v) ? Number(k) : k];
    out.push(p, ...paths(child, depth - 1, p));
  }
  return out;
}

function setIn(v: unknown, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(v) as Record<string | number, unknown>;
  let cur = copy;
  for (const seg of path.slice(0, -1)) cur = cur[seg] as Record<string | number, unknown>;
  if (value === undefined) delete cur[path[path.length - 1]!];
  else cur[path[path.length - 1]!] = value;
  return copy;
}

function request(home: string, method: string, path: string, body?: string, timeoutMs = 10_000): Promise<{ status: number } | 'hang'> {
  return new Promise((resolve) => {
    const req = http.request({ ...apiRequest(home, path), method }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.on('error', () => resolve({ status: -1 }));
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      resolve('hang');
    });
    req.on('error', () => resolve({ status: -1 }));
    req.end(body);
  });
}

export async function apiFuzz(a: AloftEnv, t: Tally, o: ApiFuzzOptions): Promise<void> {
  const random = rng(o.seed);
  const cluster = 'af';
  const up = await cli(a, t, ['launch', '-y', '-c', cluster, '--', 'echo fuzz-target']);
  if (!up || up.code !== 0) return void t.add('clustersInit', 1, `${cluster}: could not launch`);
  const pid = daemonAlive(a);
  const send = async (label: string, method: string, path: string, body?: string, expect?: (s: number) => boolean) => {
    t.runs++;
    const r = await request(a.home, method, path, body);
    if (r === 'hang') return t.add('hangs', 1, `${label}: no answer in 10 s`);
    if (r.status >= 500) t.add('fiveXX', 1, `${label}: ${r.status}`);
    else if (r.status === -1) t.add('hangs', 1, `${label}: connection dropped without an answer`);
    else if (expect && !expect(r.status)) t.extra['unexpected statuses'] = (t.extra['unexpected statuses'] ?? 0) + 1;
  };
  const refused = (s: number) => s === 400 || s === 404;
  for (const [method, base] of Object.entries(baselines(cluster))) {
    const schema = API_PARAMS[method as keyof typeof API_PARAMS];
    const variants: unknown[] = ['[]', '"x"', '42', 'null', 'true', '{', '{"a":', '\u0000', '{"unknownField":1}', '['.repeat(5000) + ']'.repeat(5000)];
    for (const p of paths(base)) {
      const values = [...WRONG].sort(() => random() - 0.5).slice(0, o.valuesPerField);
      for (const v of [...values, undefined]) variants.push(setIn(base, p, v));
    }
    for (const v of variants) {
      const body = typeof v === 'string' ? v : JSON.stringify(v);
      let parsed: unknown;
      try {
        parsed = typeof v === 'string' ? JSON.parse(v) : v;
      } catch {
        parsed = Symbol('malformed');
      }
      const valid = typeof parsed !== 'symbol' && schema.safeParse(parsed).success;
      if (valid && ACTING.has(method)) continue; // it would act: not a fuzz case
      await send(`${method} ${body.slice(0, 60)}`, 'POST', `/v1/rpc/${method}`, body, valid ? undefined : refused);
    }
  }
  for (const name of ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__', 'propertyIsEnumerable', '', '%2e%2e', 'info/extra']) {
    await send(`rpc ${name}`, 'POST', `/v1/rpc/${name}`, '{}', (s) => s === 404);
    await send(`stream ${name}`, 'GET', `/v1/stream/${name}`, undefined, (s) => s === 404);
  }
  await send('GET rpc', 'GET', '/v1/rpc/info', undefined, (s) => s === 404);
  await send('v2', 'POST', '/v2/rpc/info', '{}', (s) => s === 404);
  for (const q of ['rank=-1', 'tail=-5', 'tail=abc', 'job=0', 'job=1e99', 'follow=2', 'cluster=', `cluster=${'x'.repeat(5000)}`, 'rank=99999999999999999999']) {
    await send(`logs ${q}`, 'GET', `/v1/stream/logs?cluster=${cluster}&${q}`, undefined, refused);
  }
  await send('request stream, unknown id', 'GET', '/v1/stream/request?id=nope', undefined, refused);
  await send('managedLogs id=-1', 'GET', '/v1/stream/managedLogs?id=-1', undefined, refused);
  for (const since of ['-1', 'abc', '1e30', '99999999', '0', '']) await websocket(a, t, since);
  if (o.hugeBody) await send('50 MB body', 'POST', '/v1/rpc/status', '{"x":"' + 'a'.repeat(50 * 1024 * 1024) + '"}', (s) => s === 413);
  if (o.slowClients > 0) await slowClients(a, t, o.slowClients);
  // the daemon is the same one, and nothing was changed by all this
  if (daemonAlive(a) !== pid) t.add('daemonCrashes', 1, 'the daemon changed or died during the API fuzz');
  const after = await clusters(a, t);
  if (after.length !== 1 || after[0]?.name !== cluster || after[0]?.status !== 'UP') t.extra['state changed by refused calls'] = 1;
  await cli(a, t, ['down', '-y', cluster]);
}

async function websocket(a: AloftEnv, t: Tally, since: string): Promise<void> {
  t.runs++;
  const ws = eventsSocket(a.home, `since=${since}`);
  const outcome = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve('hang'), 10_000);
    ws.once('message', () => {
      clearTimeout(timer);
      resolve('message');
    });
    ws.once('close', (code) => {
      clearTimeout(timer);
      resolve(`close ${code}`);
    });
    ws.once('error', () => undefined);
  });
  ws.terminate();
  if (outcome === 'hang') t.add('hangs', 1, `websocket since=${since}: neither a snapshot nor a close in 10 s`);
}

/** Clients that send a request a byte at a time: the daemon keeps answering others meanwhile. */
async function slowClients(a: AloftEnv, t: Tally, n: number): Promise<void> {
  const remote = remoteApiOf(a.home);
  const socks = Array.from({ length: n }, () => (remote ? net.connect(Number(new URL(remote.url).port), '127.0.0.1') : net.connect(join(a.home, 'daemon.sock'))));
  for (const s of socks) s.on('error', () => undefined);
  const head = 'POST /v1/rpc/info HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}';
  for (let i = 0; i < 8; i++) {
    for (const s of socks) s.write(head[i]!);
    await sleep(250);
    const r = await request(a.home, 'POST', '/v1/rpc/info', '{}', 5_000);
    t.runs++;
    if (r === 'hang') t.add('hangs', 1, 'info while slow clients trickle in: no answer in 5 s');
  }
  for (const s of socks) s.destroy();
}
