// The load balancer as the daemon runs it (`node dist/serve/lb/main.js DIR`) with several worker
// processes sharing the service's port: requests spread over the workers and are counted once,
// an ejection one worker sees is told once and followed by every worker, a worker that dies is
// replaced, and nothing outlives the balancer (asked to stop or SIGKILLed). Real processes,
// real sockets; the replicas are HTTP servers in this process.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lbFiles, type LbConfigFile, type LbEvent, type LbState, type LbStats } from '../../src/serve/lb/protocol.js';
import { emptySnapshot, mergeReplicas, mergeStats, type WorkerSnapshot } from '../../src/serve/lb/snapshot.js';
import { workerCount } from '../../src/serve/lb/worker-count.js';
import { waitFor } from '../helpers/cli.js';

const MAIN = join(__dirname, '..', '..', 'dist', 'serve', 'lb', 'main.js');

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
}

async function replica(id: number, port = 0, hold?: Promise<void>) {
  const sockets = new Set<Socket>();
  const r = { id, url: '', hits: 0, close: async () => undefined as void };
  const server = http.createServer((_req, res) => {
    r.hits++;
    const answer = () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`replica ${id}`);
    };
    if (hold) void hold.then(answer);
    else answer();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((res) => server.listen(port, '127.0.0.1', res));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  r.close = () =>
    new Promise<void>((res) => {
      for (const s of sockets) s.destroy();
      server.close(() => res());
    });
  cleanups.push(r.close);
  return r;
}

function control<T>(dir: string, method: string, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: lbFiles(dir).socket, method, path, agent: false }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve(JSON.parse(b) as T));
    });
    req.on('error', reject);
    req.end();
  });
}

async function startBalancer(replicas: Array<{ id: number; url: string }>, workers: string, policy: LbConfigFile['policy'] = 'round_robin') {
  const dir = mkdtempSync(join(tmpdir(), 'aloft-lbw-'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file: LbConfigFile = {
    service: 'svc',
    replicas: replicas.map((r) => ({ id: r.id, url: r.url, version: 1 })),
    policy,
    streamTimeoutMs: 30_000,
    holdMs: 5_000,
    listen: { host: '127.0.0.1', port: 0 },
  };
  writeFileSync(lbFiles(dir).config, JSON.stringify(file), { mode: 0o600 });
  const child = spawn(process.execPath, [MAIN, dir], { detached: true, stdio: 'ignore', env: { ...process.env, ALOFT_SERVE_LB_WORKERS: workers } });
  child.unref();
  cleanups.push(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const ready = await waitFor(() => {
    try {
      return JSON.parse(readFileSync(lbFiles(dir).ready, 'utf8')) as { pid?: number; port?: number; error?: string };
    } catch {
      return undefined;
    }
  }, 30_000);
  return { dir, pid: child.pid!, ready, endpoint: `http://127.0.0.1:${ready.port}` };
}

/** `n` GETs over `conns` keep-alive connections; the status codes. */
async function hammer(endpoint: string, n: number, conns = 8): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
  const codes: number[] = [];
  let started = 0;
  const one = () =>
    new Promise<void>((res) => {
      http
        .get(`${endpoint}/`, { agent }, (r) => {
          r.resume();
          r.on('end', () => (codes.push(r.statusCode ?? 0), res()));
        })
        .on('error', () => (codes.push(0), res()));
    });
  await Promise.all(Array.from({ length: conns }, async () => {
    while (started++ < n) await one();
  }));
  agent.destroy();
  return codes;
}

function follow(dir: string): { events: LbEvent[]; stop(): void } {
  const events: LbEvent[] = [];
  const req = http.request({ socketPath: lbFiles(dir).socket, path: '/events', agent: false }, (res) => {
    let buf = '';
    res.on('data', (c: Buffer) => {
      buf += c.toString();
      for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
        events.push(JSON.parse(buf.slice(0, nl)) as LbEvent);
        buf = buf.slice(nl + 1);
      }
    });
  });
  req.on('error', () => undefined);
  req.end();
  cleanups.push(() => void req.destroy());
  return { events, stop: () => req.destroy() };
}

describe('balancer workers', () => {
  it('worker count: one per core up to 4 by default, else the setting, checked', () => {
    expect(workerCount(undefined, 1)).toBe(1);
    expect(workerCount(undefined, 2)).toBe(2);
    expect(workerCount(undefined, 32)).toBe(4);
    expect(workerCount('7', 2)).toBe(7);
    expect(() => workerCount('0', 2)).toThrow(/ALOFT_SERVE_LB_WORKERS must be a whole number from 1 to 64, got '0'/);
    expect(() => workerCount('two', 2)).toThrow(/got 'two'/);
  });

  it('merging: seconds and in-flight counts add up, percentiles over every sample, ejected where any worker ejected', () => {
    const a: WorkerSnapshot = { ...emptySnapshot(3), perSecond: [1, 2, 3], latencies: [1, 2, 3], errors: 1, replicas: [{ id: 1, url: 'u1', version: 1, inflight: 2, ejected: false, draining: false }] };
    const b: WorkerSnapshot = { ...emptySnapshot(3), perSecond: [0, 5, 1], latencies: [10, 20], retries: 2, replicas: [{ id: 1, url: 'u1', version: 1, inflight: 1, ejected: true, draining: false }, { id: -1, url: 'u0', version: 0, inflight: 4, ejected: false, draining: true }] };
    const s = mergeStats([a, b], 1000, 3);
    expect(s.perSecond).toEqual([1, 7, 4]);
    expect(s.requests).toBe(12);
    expect(s.perWorker).toEqual([6, 6]);
    expect(s.p50Ms).toBe(3);
    expect(s.p99Ms).toBe(20);
    expect(s.inflightByUrl).toEqual({ u1: 3, u0: 4 });
    expect(s.inflight).toBe(7);
    expect([s.errors, s.retries]).toEqual([1, 2]);
    expect(mergeReplicas([a, b])).toEqual([
      { id: 1, url: 'u1', version: 1, inflight: 3, ejected: true, draining: false },
      { id: -1, url: 'u0', version: 0, inflight: 4, draining: true, ejected: false },
    ]);
  });

  it('requests spread over the workers and are counted once; an ejection is told once and followed by all; a dead worker is replaced', async () => {
    const r1 = await replica(1);
    const r2 = await replica(2);
    const lb = await startBalancer([r1, r2], '2');
    expect(lb.ready.error).toBeUndefined();
    // it answers once the first worker listens; the second joins as it comes up
    const state = await waitFor(async () => {
      const s = await control<LbState>(lb.dir, 'GET', '/state');
      return s.workers === 2 ? s : undefined;
    }, 15_000);
    expect(state.workerPids).toHaveLength(2);
    expect(state.workerPids).not.toContain(lb.pid);

    const codes = await hammer(lb.endpoint, 400, 16);
    expect(codes.filter((c) => c === 200)).toHaveLength(codes.length);
    const stats = await control<LbStats>(lb.dir, 'GET', '/stats?window=60');
    expect(stats.requests).toBe(codes.length);
    // the primary hands connections to the workers in turn: 16 connections, 8 each
    expect(stats.perWorker).toHaveLength(2);
    for (const n of stats.perWorker!) expect(n).toBeGreaterThan(0);
    expect(stats.p50Ms).toBeGreaterThan(0);

    // r2 dies: whichever worker finds out first ejects it, the other follows; one event
    const events = follow(lb.dir);
    await new Promise((r) => setTimeout(r, 100));
    await r2.close();
    const during = await hammer(lb.endpoint, 200, 16);
    expect(during.filter((c) => c !== 200)).toEqual([]);
    await waitFor(async () => (await control<LbState>(lb.dir, 'GET', '/state')).replicas.find((r) => r.url === r2.url)?.ejected, 5_000);
    expect(events.events.filter((e) => e.type === 'ejected')).toHaveLength(1);
    const before = (await control<LbStats>(lb.dir, 'GET', '/stats?window=60')).requests;
    // every worker sends to r1 alone now: no retry needed, none made
    const retriesBefore = (await control<LbStats>(lb.dir, 'GET', '/stats')).retries;
    await hammer(lb.endpoint, 100, 16);
    const after = await control<LbStats>(lb.dir, 'GET', '/stats?window=60');
    expect(after.requests - before).toBe(100);
    expect(after.retries).toBe(retriesBefore);
    // back on the same port: restored, once
    const r2b = await replica(2, Number(new URL(r2.url).port));
    await waitFor(async () => (await control<LbState>(lb.dir, 'GET', '/state')).replicas.every((r) => !r.ejected), 5_000);
    await waitFor(() => events.events.some((e) => e.type === 'restored'), 5_000);
    await new Promise((r) => setTimeout(r, 600)); // the other worker's recheck (every 250 ms) has run too
    expect(events.events.filter((e) => e.type === 'restored')).toHaveLength(1);
    void r2b;

    // a worker killed: another takes its place, traffic goes on
    const victim = state.workerPids![0]!;
    process.kill(victim, 'SIGKILL');
    const replaced = await waitFor(async () => {
      const s = await control<LbState>(lb.dir, 'GET', '/state');
      return s.workers === 2 && s.workerPids?.length === 2 && !s.workerPids.includes(victim) ? s : undefined;
    }, 15_000);
    expect(replaced.workers).toBe(2);
    const later = await hammer(lb.endpoint, 100, 8);
    expect(later.filter((c) => c !== 200)).toEqual([]);
    expect(readFileSync(join(lb.dir, 'lb.log'), 'utf8')).toMatch(new RegExp(`balancer worker ${victim} ended \\(killed by SIGKILL\\); starting another`));
  });

  it('least_load counts what every worker has in flight, not only its own', async () => {
    // Two replicas that hold every request (long generations), two long requests a moment apart
    // on new connections, which the primary hands to the two workers in turn. Each worker alone
    // sees both replicas idle and would take the first; told the other's load, the second
    // worker takes the other replica.
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    cleanups.push(() => release());
    const r1 = await replica(1, 0, hold);
    const r2 = await replica(2, 0, hold);
    const lb = await startBalancer([r1, r2], '2', 'least_load');
    await waitFor(async () => (await control<LbState>(lb.dir, 'GET', '/state')).workers === 2, 15_000);
    const long = () =>
      new Promise<number>((res) => {
        http.get(`${lb.endpoint}/generate`, { agent: false }, (r) => (r.resume(), r.on('end', () => res(r.statusCode ?? 0)))).on('error', () => res(0));
      });
    const first = long();
    await waitFor(() => r1.hits + r2.hits === 1, 5_000);
    await new Promise((r) => setTimeout(r, 1000)); // a report (every 100 ms) and its relay, with room for a busy machine
    const second = long();
    await waitFor(() => r1.hits + r2.hits === 2, 5_000);
    const stats = await control<LbStats>(lb.dir, 'GET', '/stats');
    expect(stats.perWorker).toEqual([1, 1]);
    expect([r1.hits, r2.hits]).toEqual([1, 1]);
    release();
    expect(await Promise.all([first, second])).toEqual([200, 200]);
  });

  it('nothing outlives the balancer: stopped, its workers end with it; SIGKILLed, they follow', async () => {
    const r1 = await replica(1);
    const a = await startBalancer([r1], '2');
    const aWorkers = (await waitFor(async () => {
      const s = await control<LbState>(a.dir, 'GET', '/state');
      return s.workers === 2 ? s : undefined;
    }, 15_000)).workerPids!;
    await control(a.dir, 'POST', '/stop');
    await waitFor(() => ![a.pid, ...aWorkers].some(alive), 10_000);

    const b = await startBalancer([r1], '2');
    const bWorkers = (await waitFor(async () => {
      const s = await control<LbState>(b.dir, 'GET', '/state');
      return s.workers === 2 ? s : undefined;
    }, 15_000)).workerPids!;
    process.kill(b.pid, 'SIGKILL');
    await waitFor(() => !bWorkers.some(alive), 10_000);
  });

  it('one worker is the balancer process itself; a bad setting is one line in lb.ready', async () => {
    const r1 = await replica(1);
    const one = await startBalancer([r1], '1');
    const s = await control<LbState>(one.dir, 'GET', '/state');
    expect([s.workers, s.workerPids]).toEqual([1, []]);
    expect((await hammer(one.endpoint, 50, 4)).every((c) => c === 200)).toBe(true);
    const bad = await startBalancer([r1], 'lots');
    expect(bad.ready.error).toBe("ALOFT_SERVE_LB_WORKERS must be a whole number from 1 to 64, got 'lots'");
  });
});
