// The services controller's pure parts: SkyServe's autoscaling rules (delays, fallback, per
// accelerator, updates) and a replica's probe-driven transitions.
import { describe, expect, it } from 'vitest';
import type { AutoscalerState, ReplicaRecord, ReplicaStatus } from '../../src/protocol/model.js';
import { activeVersions, autoscale, rawTarget, type AutoscaleInput } from '../../src/daemon/serve/autoscaler.js';
import { ended, probed, serviceStatusOf, shutDown } from '../../src/daemon/serve/replicas.js';
import { parseTaskText } from '../../src/spec/index.js';
import type { ServiceSpec } from '../../src/spec/types.js';

const spec = (lines: string[]): ServiceSpec =>
  parseTaskText(['service:', ...lines.map((l) => `  ${l}`), 'resources: {ports: 8080}', 'run: x'].join('\n'), 't.yaml').tasks[0]!.service!;

const autoscaling = spec(['replica_policy:', '  min_replicas: 1', '  max_replicas: 3', '  target_qps_per_replica: 2', '  upscale_delay_seconds: 10', '  downscale_delay_seconds: 30']);

let nextId = 1;
const rep = (status: ReplicaStatus, o: Partial<ReplicaRecord> = {}): ReplicaRecord => ({
  id: nextId++,
  version: 1,
  status,
  cluster: 'svc-x',
  useSpot: false,
  launchedAt: 0,
  ...(status === 'READY' ? { readyAt: 1 } : {}),
  ...o,
});
const state = (o: Partial<AutoscalerState> = {}): AutoscalerState => ({ target: 1, latestEverReady: 1, launchFailures: 0, ...o });
const input = (o: Partial<AutoscaleInput>): AutoscaleInput => ({
  spec: autoscaling,
  latest: 1,
  mode: 'rolling',
  replicas: [],
  state: state(),
  qps: 0,
  now: 1_000_000,
  activeVersions: [1],
  spot: false,
  ...o,
});

describe('request-rate autoscaling with SkyServe delays', () => {
  it('target = ceil(qps / target_qps_per_replica), clipped to [min, max]', () => {
    expect(rawTarget(autoscaling, 0, [], 1)).toBe(1);
    expect(rawTarget(autoscaling, 2.1, [], 1)).toBe(2);
    expect(rawTarget(autoscaling, 100, [], 1)).toBe(3);
  });

  it('scales up only after the load asked for it for upscale_delay_seconds', () => {
    const replicas = [rep('READY')];
    let d = autoscale(input({ replicas, qps: 5, now: 0 }));
    expect(d.up).toEqual([]);
    expect(d.state).toMatchObject({ target: 1, upSince: 0 });
    d = autoscale(input({ replicas, qps: 5, now: 9_999, state: d.state }));
    expect(d.up).toEqual([]);
    d = autoscale(input({ replicas, qps: 5, now: 10_000, state: d.state }));
    expect(d.state.target).toBe(3);
    expect(d.up).toEqual([false, false]);
  });

  it('a dip resets the clock; scaling down waits downscale_delay_seconds and takes the earliest-stage replicas', () => {
    const replicas = [rep('READY'), rep('READY'), rep('STARTING')];
    let d = autoscale(input({ replicas, qps: 0, now: 0, state: state({ target: 3 }) }));
    expect(d.state.downSince).toBe(0);
    d = autoscale(input({ replicas, qps: 5, now: 20_000, state: d.state }));
    expect(d.state.downSince).toBeUndefined();
    d = autoscale(input({ replicas, qps: 0, now: 21_000, state: d.state }));
    d = autoscale(input({ replicas, qps: 0, now: 51_000, state: d.state }));
    expect(d.state.target).toBe(1);
    expect(d.down.map((x) => x.id)).toEqual([replicas[2]!.id, replicas[1]!.id]);
  });

  it('from zero (a request waits) the target moves at once; num_overprovision adds replicas', () => {
    const zero = spec(['replica_policy:', '  min_replicas: 0', '  max_replicas: 2', '  target_qps_per_replica: 1', '  num_overprovision: 1']);
    const d = autoscale(input({ spec: zero, qps: 0.02, state: state({ target: 0 }) }));
    expect(d.state.target).toBe(1);
    expect(d.up).toHaveLength(2);
    expect(autoscale(input({ spec: zero, qps: 0, state: state({ target: 0 }) })).up).toHaveLength(1);
  });

  it('replaces a replica that ended (it no longer counts) without waiting', () => {
    const d = autoscale(input({ spec: spec(['replicas: 2']), replicas: [rep('READY'), rep('FAILED', { endedAt: 5 })], state: state({ target: 2 }) }));
    expect(d.up).toEqual([false]);
  });

  it('stops scaling when a new version never became ready and its replica failed on its own', () => {
    const d = autoscale(input({ spec: spec(['replicas: 2']), latest: 2, replicas: [rep('READY'), rep('FAILED', { version: 2, endedAt: 5 })], state: state({ target: 2 }) }));
    expect(d.up).toEqual([]);
    expect(d.stalled).toMatch(/failed before ever being ready/);
    // a version that had been READY is replaced as usual
    expect(autoscale(input({ spec: spec(['replicas: 2']), replicas: [rep('READY'), rep('FAILED', { readyAt: 3, endedAt: 5 })], state: state({ target: 2 }) })).up).toHaveLength(1);
  });
});

describe('spot with on-demand fallback', () => {
  const base = spec(['replica_policy:', '  min_replicas: 2', '  max_replicas: 3', '  target_qps_per_replica: 1', '  base_ondemand_fallback_replicas: 1']);
  const dynamic = spec(['replica_policy:', '  min_replicas: 2', '  max_replicas: 3', '  target_qps_per_replica: 1', '  dynamic_ondemand_fallback: true']);

  it('base_ondemand_fallback_replicas: that many on-demand, the rest spot', () => {
    const d = autoscale(input({ spec: base, spot: true, state: state({ target: 2 }) }));
    expect(d.up.sort()).toEqual([false, true]);
  });

  it('dynamic_ondemand_fallback: an on-demand replica for each spot one not READY, dropped once spot is back', () => {
    let d = autoscale(input({ spec: dynamic, spot: true, replicas: [rep('READY', { useSpot: true })], state: state({ target: 2 }) }));
    expect(d.up.sort()).toEqual([false, true]);
    const od = rep('READY', { useSpot: false });
    d = autoscale(input({ spec: dynamic, spot: true, replicas: [rep('READY', { useSpot: true }), rep('READY', { useSpot: true }), od], state: state({ target: 2 }) }));
    expect(d.down.map((x) => x.id)).toEqual([od.id]);
  });
});

describe('per-accelerator targets (instance_aware_least_load)', () => {
  const ia = spec(['load_balancing_policy: instance_aware_least_load', 'replica_policy:', '  min_replicas: 1', '  max_replicas: 4', '  target_qps_per_replica: {"H100:1": 4, "A100:1": 1}']);
  it('adds replicas for the load above what the replicas there can take, at the biggest target', () => {
    const replicas = [rep('READY', { accelerator: 'A100:1' })];
    expect(rawTarget(ia, 9, replicas, 1)).toBe(1 + Math.ceil((9 - 1) / 4));
    expect(rawTarget(ia, 0.5, [rep('READY', { accelerator: 'H100:1' }), rep('READY', { accelerator: 'A100:1' })], 1)).toBe(1);
  });
});

describe('updates', () => {
  it('rolling: old replicas go as new ones become READY', () => {
    const fixed = spec(['replicas: 2']);
    const old = [rep('READY'), rep('READY')];
    let d = autoscale(input({ spec: fixed, latest: 2, replicas: [...old, rep('STARTING', { version: 2 }), rep('STARTING', { version: 2 })], state: state({ target: 2, latestEverReady: 1 }), activeVersions: [1] }));
    expect(d.down).toEqual([]);
    d = autoscale(input({ spec: fixed, latest: 2, replicas: [...old, rep('READY', { version: 2 }), rep('STARTING', { version: 2 })], state: state({ target: 2 }), activeVersions: [1, 2] }));
    expect(d.down).toHaveLength(1);
    d = autoscale(input({ spec: fixed, latest: 2, replicas: [...old, rep('READY', { version: 2 }), rep('READY', { version: 2 })], state: state({ target: 2 }), activeVersions: [1, 2] }));
    expect(d.down.map((x) => x.id).sort()).toEqual(old.map((r) => r.id).sort());
  });

  it('blue_green: traffic stays on the old version until the new one has min_replicas READY', () => {
    const min = (v: number) => (v === 2 ? 2 : 1);
    const old = rep('READY');
    expect(activeVersions([old, rep('READY', { version: 2 })], 'blue_green', min)).toEqual([1]);
    expect(activeVersions([old, rep('READY', { version: 2 }), rep('READY', { version: 2 })], 'blue_green', min)).toEqual([2]);
    expect(activeVersions([old, rep('READY', { version: 2 })], 'rolling', min)).toEqual([1, 2]);
    const d = autoscale(input({ spec: spec(['replicas: 2']), mode: 'blue_green', latest: 2, replicas: [old, rep('READY', { version: 2 }), rep('READY', { version: 2 })], state: state({ target: 2 }), activeVersions: [2] }));
    expect(d.down.map((x) => x.id)).toEqual([old.id]);
  });
});

describe('a replica under probes', () => {
  const p = spec(['readiness_probe: {path: /h, initial_delay_seconds: 10, consecutive_failure_threshold_timeout: 5}']).readiness;
  it('STARTING → READY; READY → NOT_READY → FAILED_PROBING after the threshold; a failure before ever READY waits for the initial delay', () => {
    const r = rep('STARTING', { startingAt: 0 });
    expect(probed(r, false, 'GET /h: ECONNREFUSED', p, 9_000)).toMatchObject({ status: 'STARTING', statusReason: 'GET /h: ECONNREFUSED' });
    expect(probed(r, false, 'x', p, 10_001)).toMatchObject({ status: 'SHUTTING_DOWN', endAs: 'FAILED_INITIAL_DELAY' });
    const ready = probed(r, true, undefined, p, 2_000);
    expect(ready).toMatchObject({ status: 'READY', readyAt: 2_000 });
    const nr = probed(ready, false, 'GET /h answered 503', p, 3_000);
    expect(nr).toMatchObject({ status: 'NOT_READY', notReadySince: 3_000 });
    expect(probed(nr, true, undefined, p, 4_000)).toMatchObject({ status: 'READY' });
    expect(probed(nr, false, 'x', p, 8_000)).toMatchObject({ status: 'SHUTTING_DOWN', endAs: 'FAILED_PROBING' });
  });

  it('a failure stays listed after its teardown, a scale-down goes; service status from the replicas', () => {
    const a = shutDown(rep('READY'), 0, { endAs: 'FAILED_PROBING', reason: 'x' });
    const b = shutDown(rep('READY'), 0, { reason: 'scaling down', drainMs: 100 });
    expect(b.drainUntil).toBe(100);
    const svc = { replicas: [a, b] } as unknown as Parameters<typeof ended>[0];
    const after = ended(ended(svc, a.id, 5), b.id, 5);
    expect(after.replicas.map((r) => [r.id, r.status])).toEqual([[a.id, 'FAILED_PROBING']]);
    expect(serviceStatusOf(after.replicas)).toBe('FAILED');
    expect(serviceStatusOf([])).toBe('NO_REPLICA');
    expect(serviceStatusOf([rep('STARTING')])).toBe('REPLICA_INIT');
    expect(serviceStatusOf([rep('READY'), a])).toBe('READY');
  });
});
