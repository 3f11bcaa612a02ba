// Issue 12 on the real local infra, part two: autoscaling on the request rate the load balancer
// measures (1 → 3 under load, back after the downscale delay), scale to zero and a cold start
// whose first request waits, and `serve update` (rolling, then blue_green) while a client
// hammers the endpoint — with a daemon SIGKILL in the middle of the roll. No request may fail.
// Delays come from the YAML; the QPS window (60 s in SkyServe) is shortened with
// ALOFT_SERVE_QPS_WINDOW_SECONDS so a test does not wait minutes.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, type AloftEnv } from '../helpers/cli.js';
import { get, hammer, ready, SERVE_FIXTURES, service, waitService } from '../helpers/serve.js';

const live = (s: { replicas: Array<{ status: string; endedAt?: number }> }) => s.replicas.filter((r) => r.endedAt === undefined && r.status !== 'SHUTTING_DOWN' && r.status !== 'PREEMPTED');

describe('aloft serve: autoscaling and updates', () => {
  let a: AloftEnv;
  let dir: string;
  const base = () => readFileSync(join(SERVE_FIXTURES, 'service.yaml'), 'utf8');
  const up = async (name: string, yaml: string) => {
    const path = join(dir, `${name}.yaml`);
    writeFileSync(path, yaml);
    const r = await a.run(['serve', 'up', '-y', '-n', name, path], { cwd: dir, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    return /Endpoint URL: (\S+)/.exec(r.stdout)![1]!;
  };
  beforeAll(() => {
    a = makeHome();
    a.env.ALOFT_SERVE_QPS_WINDOW_SECONDS = '3';
    a.env.ALOFT_SERVE_STATS_INTERVAL_MS = '300';
    dir = mkdtempSync(join(tmpdir(), 'aloft-serve-'));
    copyFileSync(join(SERVE_FIXTURES, 'server.mjs'), join(dir, 'server.mjs'));
  });
  afterAll(async () => {
    await a.cleanup();
  });

  it('scales 1 → 3 under load, and back to 1 after the downscale delay', async () => {
    const url = await up(
      'auto',
      base().replace(
        '  replicas: 2',
        ['  replica_policy:', '    min_replicas: 1', '    max_replicas: 3', '    target_qps_per_replica: 2', '    upscale_delay_seconds: 1', '    downscale_delay_seconds: 4'].join('\n'),
      ),
    );
    await waitService(a, 'auto', (s) => ready(s).length === 1, 'one READY replica');
    // a handful of clients back to back: far more than 2 requests/s per replica
    const h = hammer(url, 4, '/slow?ms=20');
    const s = await waitService(a, 'auto', (x) => ready(x).length === 3, 'three READY replicas under load', 180_000);
    expect(s.metrics!.qps).toBeGreaterThan(4);
    expect(s.autoscaler.target).toBe(3);
    const out = await h.stop();
    expect(out.failures).toEqual([]);
    await waitService(a, 'auto', (x) => live(x).length === 1 && x.autoscaler.target === 1, 'back to one replica', 120_000);
    const ctl = (await a.run(['serve', 'logs', '--controller', 'auto', '--no-follow'])).stdout;
    expect(ctl).toMatch(/target replicas: 1 → 3/);
    expect(ctl).toMatch(/target replicas: 3 → 1/);
    expect((await a.run(['serve', 'down', '-y', 'auto'], { timeoutMs: 120_000 })).code).toBe(0);
  }, 400_000);

  it('scales to zero, and the first request after waits for a replica instead of failing', async () => {
    const url = await up(
      'zero',
      base().replace(
        '  replicas: 2',
        ['  replica_policy:', '    min_replicas: 0', '    max_replicas: 1', '    target_qps_per_replica: 1', '    downscale_delay_seconds: 1'].join('\n'),
      ),
    );
    const idle = await waitService(a, 'zero', (s) => s.status === 'NO_REPLICA', 'NO_REPLICA');
    expect(idle.replicas).toEqual([]);
    // cold start: the request waits while replica 1 is launched and becomes READY
    const first = await get(url + '/', undefined, 180_000);
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body).replica).toBe('1');
    // nothing more comes: after the window and the downscale delay it goes back to zero
    const gone = await waitService(a, 'zero', (s) => s.status === 'NO_REPLICA' && s.replicas.length === 0, 'scaled back to zero', 120_000);
    expect(gone.autoscaler.target).toBe(0);
    // and comes back again on the next request
    expect((await get(url + '/', undefined, 180_000)).status).toBe(200);
    expect((await a.run(['serve', 'down', '-y', 'zero'], { timeoutMs: 120_000 })).code).toBe(0);
  }, 400_000);

  it('serve update, rolling then blue_green, with a client hammering and a daemon SIGKILL mid-roll: no request fails', async () => {
    // new versions take a moment to listen: the roll has a middle to be killed in
    const v = (n: number) => base().replace('run: node server.mjs', `envs:\n  VERSION: "${n}"\n  START_DELAY_MS: "${n === 1 ? 0 : 3000}"\n\nrun: node server.mjs`);
    const url = await up('web', v(1));
    await waitService(a, 'web', (s) => ready(s).length === 2, 'two READY replicas');
    const h = hammer(url);
    await h.more(20);

    writeFileSync(join(dir, 'v2.yaml'), v(2));
    const u2 = await a.run(['serve', 'update', '-y', 'web', join(dir, 'v2.yaml')], { cwd: dir, timeoutMs: 60_000 });
    expect(u2.code, u2.stderr).toBe(0);
    expect(u2.stdout).toContain("Successfully updated service 'web' to version 2.");
    // mid-roll: the new replicas start while the old ones serve — the daemon dies there
    await waitService(a, 'web', (s) => s.replicas.some((r) => r.version === 2 && r.status === 'STARTING') && ready(s).length === 2, 'mid-roll');
    process.kill(a.daemonPid()!, 'SIGKILL');
    await h.more(20);
    let s = await waitService(a, 'web', (x) => ready(x).length === 2 && ready(x).every((r) => r.version === 2) && live(x).length === 2, 'all replicas on version 2', 180_000);
    expect(s.activeVersions).toEqual([2]);
    await h.more(20);

    writeFileSync(join(dir, 'v3.yaml'), v(3));
    const u3 = await a.run(['serve', 'update', '-y', '--mode', 'blue_green', 'web', join(dir, 'v3.yaml')], { cwd: dir, timeoutMs: 60_000 });
    expect(u3.code, u3.stderr).toBe(0);
    // blue_green: no version-3 answer until version 3 has its two replicas READY
    s = await waitService(a, 'web', (x) => x.activeVersions.join() === '3' && live(x).every((r) => (r as { version?: number }).version === 3), 'switched to version 3', 180_000);
    await h.more(20);
    const out = await h.stop();
    expect(out.failures).toEqual([]);
    const versions = new Set([...out.bodies.keys()].map((b) => JSON.parse(b).version));
    expect([...versions].sort()).toEqual(['1', '2', '3']);
    expect(s.versions.map((x) => [x.version, x.mode ?? 'up'])).toEqual([
      [1, 'up'],
      [2, 'rolling'],
      [3, 'blue_green'],
    ]);
    expect((await a.run(['serve', 'status', 'web'])).stdout).toMatch(/web\s+3\s/);

    // only the service section changes: SkyServe keeps the replicas and bumps their version
    const ids = ready(s).map((r) => r.id).sort();
    writeFileSync(join(dir, 'v4.yaml'), v(3).replace('initial_delay_seconds: 120', 'initial_delay_seconds: 100'));
    const u4 = await a.run(['serve', 'update', '-y', 'web', join(dir, 'v4.yaml')], { cwd: dir, timeoutMs: 60_000 });
    expect(u4.stdout).toContain('Only the service section changed');
    s = (await service(a, 'web'))!;
    expect(ready(s).map((r) => [r.id, r.version]).sort()).toEqual(ids.map((id) => [id, 4]));
  }, 600_000);
});
