// Issue 12 on the real local infra: `aloft serve` with a tiny HTTP server as the replica program
// (test/fixtures/serve/server.mjs). Replicas are real clusters, the load balancer a real process,
// and a client hammers the endpoint through kills, a preemption and a daemon SIGKILL.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { closedPort, makeHome, waitFor, type AloftEnv } from '../helpers/cli.js';
import { get, hammer, ready, SERVE_FIXTURES, service, services, waitService } from '../helpers/serve.js';

/** Local nodes get their own addresses only as root (src/providers/local/isolation). */
const ownAddresses = process.platform === 'linux' && process.getuid?.() === 0 && spawnSync('ip', ['-V']).status === 0;

/** Live load balancers of services under `home` (other tests' balancers may run meanwhile). */
function lbPids(home: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const cmd = readFileSync(`/proc/${e}/cmdline`, 'latin1');
        return cmd.includes('serve/lb/main.js') && cmd.includes(join(home, 'serve') + '/') && !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${e}/stat`, 'latin1'));
      } catch {
        return false;
      }
    })
    .map(Number);
}

function pgid(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ')[2]);
}

describe('aloft serve on the local infra', () => {
  let a: AloftEnv;
  let dir: string;
  let endpoint = '';
  beforeAll(() => {
    a = makeHome();
    a.env.ALOFT_SERVE_STATS_INTERVAL_MS = '300';
    dir = mkdtempSync(join(tmpdir(), 'aloft-serve-'));
    copyFileSync(join(SERVE_FIXTURES, 'server.mjs'), join(dir, 'server.mjs'));
    copyFileSync(join(SERVE_FIXTURES, 'service.yaml'), join(dir, 'service.yaml'));
  });
  afterAll(async () => {
    await a.cleanup();
  });

  it('up → READY → requests answered through the endpoint, by replicas on their own addresses', async () => {
    const up = await a.run(['serve', 'up', '-y', '-n', 'web', 'service.yaml'], { cwd: dir, timeoutMs: 120_000 });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain('Service spec:');
    expect(up.stdout).toContain('Replica autoscaling policy:       Fixed 2 replicas');
    endpoint = /Endpoint URL: (\S+)/.exec(up.stdout)![1]!;
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const s = await waitService(a, 'web', (x) => x.status === 'READY' && ready(x).length === 2, 'two READY replicas');
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const r = await get(endpoint + '/');
      expect(r.status).toBe(200);
      seen.add(JSON.parse(r.body).replica);
    }
    // SKYPILOT_SERVE_REPLICA_ID, as SkyPilot sets it; least_load spreads even one request at a time
    expect([...seen].sort()).toEqual(['1', '2']);
    const urls = ready(s).map((r) => r.url!);
    expect(urls.every((u) => u.endsWith(':8080'))).toBe(true);
    if (ownAddresses) expect(new Set(urls).size).toBe(2); // both bind 8080, each on its own address
    const table = (await a.run(['serve', 'status', 'web'])).stdout;
    expect(table).toMatch(/NAME\s+(USER\s+)?VERSION\s+UPTIME\s+STATUS\s+REPLICAS\s+ENDPOINT/);
    expect(table).toMatch(/web\s+(?:[a-z_][a-z0-9_.-]*\s+)?1\s+\S+\s+READY\s+2\/2\s+http:\/\/127\.0\.0\.1/);
    expect(table).toMatch(/SERVICE_NAME\s+ID\s+VERSION\s+ENDPOINT\s+LAUNCHED\s+INFRA\s+RESOURCES\s+STATUS/);
    expect((await a.run(['serve', 'status', '--endpoint', 'web'])).stdout.trim()).toBe(endpoint);
  }, 180_000);

  it('streams server-sent events through unbuffered, and upgrades websockets', async () => {
    const res = await fetch(`${endpoint}/sse?n=5&ms=300`);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const events: Array<{ i: number; t: number; got: number }> = [];
    let buf = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      buf += new TextDecoder().decode(r.value);
      let at: number;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        events.push({ ...JSON.parse(buf.slice(6, at)), got: Date.now() });
        buf = buf.slice(at + 2);
      }
    }
    expect(events.map((e) => e.i)).toEqual([0, 1, 2, 3, 4]);
    // causality, not timing: the first event reached us before the replica had written the last
    expect(events[0]!.got).toBeLessThan(events[4]!.t);

    const ws = new WebSocket(endpoint.replace('http', 'ws') + '/ws');
    const echoed = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hello'));
      ws.once('message', (m) => resolve(m.toString()));
      ws.once('error', reject);
    });
    ws.close();
    expect(echoed).toMatch(/^replica [12]: hello$/);
  }, 60_000);

  it('logs: a replica, the load balancer, the controller', async () => {
    const replica = await a.run(['serve', 'logs', 'web', '1', '--no-follow']);
    expect(replica.stdout).toContain('replica 1 (version 1) listening on 8080');
    const lb = await a.run(['serve', 'logs', '--load-balancer', 'web', '--no-follow']);
    expect(lb.stdout).toMatch(/load balancer for web on http:\/\/0\.0\.0\.0:\d+/);
    const ctl = await a.run(['serve', 'logs', '--controller', 'web', '--no-follow', '--tail', '200']);
    expect(ctl.stdout).toMatch(/replica 1: STARTING → READY/);
    const bad = await a.run(['serve', 'logs', 'web', '9', '--no-follow']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe("aloft: service 'web' has no replica 9 (replicas: 1, 2)");
    expect((await a.run(['serve', 'logs', 'web'])).stderr.trim()).toBe('aloft: give one of: a REPLICA_ID, --controller or --load-balancer');
  }, 60_000);

  it('a killed replica is replaced while the service keeps answering (no request fails)', async () => {
    const h = hammer(endpoint);
    await h.more(20);
    const victim = JSON.parse((await get(endpoint + '/')).body) as { replica: string; pid: number };
    process.kill(victim.pid, 'SIGKILL');
    const s = await waitService(a, 'web', (x) => ready(x).length === 2 && !ready(x).some((r) => String(r.id) === victim.replica), 'a replacement READY');
    await h.more(20);
    const out = await h.stop();
    expect(out.failures).toEqual([]);
    expect(s.replicas.some((r) => r.status === 'FAILED' && /its job ended FAILED/.test(r.statusReason ?? ''))).toBe(true);
  }, 180_000);

  it('a daemon SIGKILL drops no request; the controller comes back, adopts the balancer and replaces a replica lost meanwhile', async () => {
    // one balancer: a process and its workers (one per core here), one process group
    const before = lbPids(a.home);
    expect(before.length).toBeGreaterThanOrEqual(1);
    expect(new Set(before.map(pgid)).size).toBe(1);
    const h = hammer(endpoint);
    await h.more(10);
    process.kill(a.daemonPid()!, 'SIGKILL');
    await h.more(30);
    // lost while nobody watches: the balancer alone takes it out of rotation
    const victim = JSON.parse((await get(endpoint + '/')).body) as { replica: string; pid: number };
    process.kill(victim.pid, 'SIGKILL');
    await h.more(30);
    // any command brings the daemon back; its controller adopts the balancer (same process)
    await waitService(a, 'web', (x) => ready(x).length === 2 && !ready(x).some((r) => String(r.id) === victim.replica), 'the lost replica replaced after the restart');
    // the same balancer: its processes still run, none replaced
    for (const pid of before) expect(lbPids(a.home)).toContain(pid);
    const ctl = (await a.run(['serve', 'logs', '--controller', 'web', '--no-follow'])).stdout;
    expect(ctl).toMatch(/adopted the load balancer \(pid \d+, port \d+\)/);
    await h.more(20);
    const out = await h.stop();
    expect(out.failures).toEqual([]);
  }, 180_000);

  it('a preempted spot replica is replaced (spot again) while the service keeps answering', async () => {
    const yaml = join(dir, 'spot.yaml');
    writeFileSync(
      yaml,
      readFileSync(join(dir, 'service.yaml'), 'utf8')
        .replace('  replicas: 2', '  replica_policy:\n    min_replicas: 2\n    base_ondemand_fallback_replicas: 1')
        .replace('  cpus: 0.1', '  cpus: 0.1\n  use_spot: true'),
    );
    const up = await a.run(['serve', 'up', '-y', '-n', 'spot', yaml], { cwd: dir, timeoutMs: 120_000 });
    expect(up.code, up.stderr).toBe(0);
    const url = /Endpoint URL: (\S+)/.exec(up.stdout)![1]!;
    const s = await waitService(a, 'spot', (x) => ready(x).length === 2, 'two READY replicas');
    // base_ondemand_fallback_replicas: 1 → one on-demand replica, the other spot
    expect(ready(s).map((r) => r.useSpot).sort()).toEqual([false, true]);
    const spot = ready(s).find((r) => r.useSpot)!;
    const h = hammer(url);
    await h.more(10);
    const p = await a.run(['local', 'preempt', spot.cluster]);
    expect(p.code, p.stderr).toBe(0);
    const after = await waitService(a, 'spot', (x) => ready(x).length === 2 && !x.replicas.some((r) => r.id === spot.id), 'the preempted replica replaced');
    expect(ready(after).map((r) => r.useSpot).sort()).toEqual([false, true]);
    await h.more(10);
    expect((await h.stop()).failures).toEqual([]);
    const ctl = (await a.run(['serve', 'logs', '--controller', 'spot', '--no-follow'])).stdout;
    // a failed probe may notice the dead replica first (READY → NOT_READY); either way it ends as
    // PREEMPTED, not FAILED, and is replaced by a spot replica
    expect(ctl).toMatch(new RegExp(`replica ${spot.id}: (READY|NOT_READY) → PREEMPTED \\(its spot nodes were preempted\\)`));
  }, 180_000);

  it('serve down leaves no process and no cluster', async () => {
    const down = await a.run(['serve', 'down', '-a', '-y'], { timeoutMs: 120_000 });
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toContain("Service 'web' is shut down.");
    expect(await services(a)).toEqual([]);
    expect(JSON.parse((await a.run(['status', '-o', 'json'])).stdout)).toEqual([]);
    expect(lbPids(a.home)).toEqual([]);
    const daemon = a.daemonPid();
    await waitFor(() => a.leftoverProcesses().filter((p) => p !== daemon).length === 0, 20_000, 'no process but the daemon');
    expect(await service(a, 'web')).toBeUndefined();
    await expect(get(endpoint + '/', undefined, 5000)).rejects.toThrow();
  }, 180_000);
});

describe('aloft serve where local nodes share this machine’s network', () => {
  let a: AloftEnv;
  let dir: string;
  // on this machine's own network: a port of its own, so a run of this file beside another (the
  // team-server project, another checkout's suite) does not take the other's port
  let port = 0;
  beforeAll(async () => {
    a = makeHome();
    // as on a machine where aloft is not root: no node namespaces, every node on 127.0.0.1
    writeFileSync(join(a.home, 'config.yaml'), 'local:\n  namespaces: false\n');
    dir = mkdtempSync(join(tmpdir(), 'aloft-serve-'));
    port = await closedPort();
    copyFileSync(join(SERVE_FIXTURES, 'server.mjs'), join(dir, 'server.mjs'));
    const yaml = readFileSync(join(SERVE_FIXTURES, 'service.yaml'), 'utf8').replace('ports: 8080', `ports: ${port}`);
    writeFileSync(join(dir, 'service.yaml'), `${yaml}\nenvs:\n  PORT: "${port}"\n`);
  });
  afterAll(async () => {
    await a.cleanup();
  });

  it('serves with one replica and says in one line why the second cannot bind the same port', async () => {
    const up = await a.run(['serve', 'up', '-y', '-n', 'shared', 'service.yaml'], { cwd: dir, timeoutMs: 120_000 });
    expect(up.code, up.stderr).toBe(0);
    const s = await waitService(a, 'shared', (x) => ready(x).length === 1 && x.replicas.some((r) => r.status === 'FAILED_PROVISION'), 'one READY, one refused');
    const refused = s.replicas.find((r) => r.status === 'FAILED_PROVISION')!;
    expect(refused.statusReason).toMatch(
      /^local nodes share this machine's network \(node namespaces are turned off in config\.yaml \(local: \{namespaces: false\}\)\): replica \d cannot serve on port (\d+) too, replica \d already does \(http:\/\/127\.0\.0\.1:(\d+)\)$/,
    );
    expect(/port (\d+) too/.exec(refused.statusReason!)![1]).toBe(String(port));
    expect((await get(/Endpoint URL: (\S+)/.exec(up.stdout)![1]! + '/')).status).toBe(200);
    expect((await a.run(['serve', 'status', '-v', 'shared'])).stdout).toContain('FAILED_PROVISION (local nodes share');
  }, 180_000);
});
