import { describe, expect, it } from 'vitest';
import { loadCatalog, buildCatalog, type Offering } from '../../src/catalog/catalog.js';
import { UnknownAcceleratorError } from '../../src/catalog/accelerators.js';
import { planTask, InfeasibleError } from '../../src/optimizer/plan.js';
import { Blocklist, retryBackoffMs } from '../../src/optimizer/blocklist.js';
import { planChain, egressPerGB, locations, placementCost, planEach } from '../../src/optimizer/chain.js';
import { planDag, solveDag } from '../../src/optimizer/dag.js';
import { renderPlan, planToJson } from '../../src/optimizer/render.js';
import { globMatch } from '../../src/optimizer/infra.js';
import type { OptimizeContext } from '../../src/optimizer/types.js';
import type { Candidate } from '../../src/optimizer/types.js';
import { acc, localOffering, rs, task } from '../helpers/optimizer.js';

const clouds: OptimizeContext = { usableClouds: ['aws', 'gcp', 'local'], liveOfferings: [localOffering()] };
const catalog = () => loadCatalog();

/** Cheapest price in the catalog among offerings that pass `f` (the independent oracle). */
function cheapest(f: (o: Offering) => boolean, spot = false): number {
  let best = Infinity;
  for (const o of catalog().offerings) {
    const p = spot ? o.spotPrice : o.price;
    if (p !== undefined && f(o) && p < best) best = p;
  }
  return best;
}

describe('planTask: accelerators', () => {
  it('picks the cheapest offering with exactly the asked count', () => {
    const p = planTask(task([rs({ accelerators: acc('a100', 8) })]), clouds);
    expect(p.chosen.accelerators).toEqual({ name: 'A100', count: 8 });
    expect(p.chosen.hourlyPrice).toBe(cheapest((o) => o.accelerator === 'A100' && o.acceleratorCount === 8));
    expect(p.failover.every((c) => c.accelerators?.name === 'A100' && c.accelerators.count === 8)).toBe(true);
    expect(p.failover.every((c) => c.hourlyPrice >= p.chosen.hourlyPrice)).toBe(true);
  });

  it('treats several accelerators (dict/list forms) as alternatives, cheapest wins', () => {
    const p = planTask(task([rs({ accelerators: [{ name: 'H100', count: 8 }, { name: 'A100', count: 8 }] })]), clouds);
    const a100 = cheapest((o) => o.accelerator === 'A100' && o.acceleratorCount === 8);
    const h100 = cheapest((o) => o.accelerator === 'H100' && o.acceleratorCount === 8);
    expect(p.chosen.hourlyPrice).toBe(Math.min(a100, h100));
    expect(new Set([p.chosen, ...p.failover].map((c) => c.accelerators!.name))).toEqual(new Set(['A100', 'H100']));
  });

  it('accepts memory requests like 80GB+:8', () => {
    const p = planTask(task([rs({ accelerators: acc('80GB+', 8) })]), clouds);
    const names = new Set([p.chosen, ...p.failover].map((c) => c.accelerators!.name));
    expect(names.has('A100')).toBe(false);
    expect([...names].every((n) => ['A100-80GB', 'H100', 'H100-MEGA', 'H200', 'B200'].includes(n))).toBe(true);
    expect(p.chosen.hourlyPrice).toBe(cheapest((o) => o.acceleratorMemGiB >= 80 && o.acceleratorCount === 8));
  });

  it('fails on a typo with a suggestion', () => {
    expect(() => planTask(task([rs({ accelerators: acc('A1OO', 8) })]), clouds)).toThrow(UnknownAcceleratorError);
    expect(() => planTask(task([rs({ accelerators: acc('A1OO', 8) })]), clouds)).toThrow(/did you mean A100/);
  });

  it('says why in one line when nothing fits', () => {
    const ctx: OptimizeContext = { usableClouds: ['local'], liveOfferings: [localOffering()] };
    const run = () => planTask(task([rs({ accelerators: acc('A100', 8), infra: { region: 'us-west-2' } })]), ctx);
    expect(run).toThrow(InfeasibleError);
    expect(run).toThrow(/^no infra offers A100:8 in us-west-2 \(enabled: local\)/);
    try {
      run();
    } catch (e) {
      expect((e as Error).message).not.toContain('\n');
    }
  });
});

describe('planTask: cpus, memory, instance type, infra', () => {
  it('N+ means at least, N means exactly', () => {
    const atLeast = planTask(task([rs({ cpus: { value: 16, atLeast: true } })]), clouds);
    expect([atLeast.chosen, ...atLeast.failover].every((c) => c.cpus >= 16)).toBe(true);
    const exact = planTask(task([rs({ cpus: { value: 16, atLeast: false }, memory: { value: 64, atLeast: false } })]), clouds);
    expect([exact.chosen, ...exact.failover].every((c) => c.cpus === 16 && c.memoryGiB === 64)).toBe(true);
    expect(exact.chosen.hourlyPrice).toBe(cheapest((o) => !o.accelerator && o.cpus === 16 && o.memoryGiB === 64));
    const mem = planTask(task([rs({ memory: { value: 200, atLeast: true } })]), clouds);
    expect(mem.chosen.memoryGiB).toBeGreaterThanOrEqual(200);
  });

  it('uses a default size (8+ vCPUs, 32+ GB) when none is given', () => {
    const p = planTask(task([rs({ infra: { cloud: 'aws' } })]), clouds);
    expect(p.chosen.cpus).toBeGreaterThanOrEqual(8);
    expect(p.chosen.memoryGiB).toBeGreaterThanOrEqual(32);
    expect(p.chosen.accelerators).toBeUndefined();
  });

  it('honors instance_type', () => {
    const p = planTask(task([rs({ instanceType: 'g5.xlarge' })]), clouds);
    expect(p.chosen).toMatchObject({ cloud: 'aws', instanceType: 'g5.xlarge', accelerators: { name: 'A10G', count: 1 } });
    expect(p.chosen.hourlyPrice).toBe(1.006);
  });

  it('filters by infra with prefixes and wildcards', () => {
    const us = planTask(task([rs({ infra: { cloud: 'aws', region: 'us-*' } })]), clouds);
    expect([us.chosen, ...us.failover].every((c) => c.cloud === 'aws' && c.region.startsWith('us-'))).toBe(true);
    const zone = planTask(task([rs({ accelerators: acc('A100', 8), infra: { cloud: 'gcp', region: 'us-central1', zone: 'us-central1-c' } })]), clouds);
    expect([zone.chosen, ...zone.failover].map((c) => c.zone)).toEqual(['us-central1-c']);
    const anyEu = planTask(task([rs({ infra: { cloud: '*', region: 'eu*' } })]), clouds);
    expect(anyEu.chosen.region.startsWith('eu')).toBe(true);
    expect(globMatch('us-*-1', 'us-east-1')).toBe(true);
    expect(globMatch('us-*-1', 'us-east-2')).toBe(false);
  });

  it('restricts to allowed infra patterns', () => {
    const p = planTask(task([rs()]), { ...clouds, allowedInfra: ['aws/eu-*'] });
    expect([p.chosen, ...p.failover].every((c) => c.cloud === 'aws' && c.region.startsWith('eu-'))).toBe(true);
    expect(p.considered.some((r) => r.excluded?.startsWith('not in allowed infra'))).toBe(true);
  });
});

describe('planTask: spot, any_of, ordered', () => {
  it('uses spot prices for use_spot and on-demand otherwise', () => {
    const od = planTask(task([rs({ accelerators: acc('T4', 1) })]), clouds);
    const spot = planTask(task([rs({ accelerators: acc('T4', 1), useSpot: true })]), clouds);
    expect(spot.chosen.useSpot).toBe(true);
    expect(od.chosen.useSpot).toBe(false);
    expect(spot.chosen.hourlyPrice).toBeLessThan(od.chosen.hourlyPrice);
    const o = catalog().offerings.find((x) => x.cloud === spot.chosen.cloud && x.zone === spot.chosen.zone && x.instanceType === spot.chosen.instanceType && x.accelerator === 'T4' && x.acceleratorCount === 1)!;
    expect(spot.chosen.hourlyPrice).toBe(o.spotPrice);
    expect(planToJson(spot)).toMatchObject({ use_spot: true, hourly_price: o.spotPrice });
  });

  it('any_of takes the cheapest, ordered the first that has any offering', () => {
    const cands = [rs({ accelerators: acc('H100', 8) }), rs({ accelerators: acc('T4', 1) })];
    const anyOf = planTask(task(cands, { mode: 'any_of' }), clouds);
    expect(anyOf.chosen.accelerators!.name).toBe('T4');
    const ordered = planTask(task(cands, { mode: 'ordered' }), clouds);
    expect(ordered.chosen.accelerators!.name).toBe('H100');
    // the first choice's places come first, then the second choice's
    const names = ordered.failover.map((c) => c.accelerators!.name);
    expect(names.indexOf('T4')).toBeGreaterThan(0);
    expect(names.slice(0, names.indexOf('T4')).every((n) => n === 'H100')).toBe(true);
    expect(names.slice(names.indexOf('T4')).every((n) => n === 'T4')).toBe(true);
    const skip = planTask(task([rs({ accelerators: acc('A100', 3) }), rs({ accelerators: acc('L4', 1) })], { mode: 'ordered' }), clouds);
    expect(skip.chosen.accelerators!.name).toBe('L4');
  });

  it('multiplies by the number of nodes', () => {
    const p = planTask(task([rs({ accelerators: acc('A100', 8) })], { numNodes: 4 }), clouds);
    expect(p.chosen.numNodes).toBe(4);
    expect(p.chosen.totalHourlyPrice).toBeCloseTo(p.chosen.hourlyPrice * 4, 6);
  });

  it('minimize time prefers the faster accelerator', () => {
    const cands = [rs({ accelerators: acc('A100', 8) }), rs({ accelerators: acc('H100', 8) })];
    const p = planTask(task(cands, { mode: 'any_of' }), { ...clouds, minimize: 'time' });
    expect(['H100', 'H100-MEGA']).toContain(p.chosen.accelerators!.name);
  });
});

describe('failover and blocklist', () => {
  it('orders zones of a region first, then the next region by price', () => {
    const p = planTask(task([rs({ accelerators: acc('A100', 8) })]), clouds);
    const seq = [p.chosen, ...p.failover];
    const regionsSeen: string[] = [];
    for (const c of seq) {
      const r = `${c.cloud}/${c.region}`;
      if (regionsSeen[regionsSeen.length - 1] !== r) {
        expect(regionsSeen, `region ${r} comes back after others`).not.toContain(r);
        regionsSeen.push(r);
      }
    }
    const firstOfRegion = regionsSeen.map((r) => seq.find((c) => `${c.cloud}/${c.region}` === r)!.totalHourlyPrice);
    expect([...firstOfRegion].sort((a, b) => a - b)).toEqual(firstOfRegion);
  });

  it('blocking a zone, region or cloud advances the failover order', () => {
    const base = planTask(task([rs({ accelerators: acc('A100', 8) })]), clouds);
    const bl = new Blocklist();
    bl.addFailure(base.chosen, 'capacity', 'no capacity');
    const next = planTask(task([rs({ accelerators: acc('A100', 8) })]), { ...clouds, blocklist: bl });
    expect(next.chosen.zone).toBe(base.failover[0]!.zone);
    expect(next.chosen.region).toBe(base.failover[0]!.region);
    expect(next.considered.some((r) => r.excluded === 'blocked: no capacity')).toBe(false); // the shape still has feasible zones
    bl.addFailure(next.chosen, 'quota', 'quota exceeded');
    const third = planTask(task([rs({ accelerators: acc('A100', 8) })]), { ...clouds, blocklist: bl });
    expect(`${third.chosen.cloud}/${third.chosen.region}`).not.toBe(`${base.chosen.cloud}/${base.chosen.region}`);
    bl.addFailure(third.chosen, 'credentials', 'bad credentials');
    const fourth = planTask(task([rs({ accelerators: acc('A100', 8) })]), { ...clouds, blocklist: bl });
    expect(fourth.chosen.cloud).not.toBe(third.chosen.cloud);
    bl.add({ cloud: fourth.chosen.cloud, reason: 'down' });
    expect(() => planTask(task([rs({ accelerators: acc('A100', 8) })]), { ...clouds, blocklist: bl })).toThrow(/blocked/);
  });

  it('expired entries stop blocking and backoff grows', () => {
    const bl = new Blocklist([{ cloud: 'aws', reason: 'x', until: Date.now() - 1 }]);
    expect(bl.blocked('aws', 'us-east-1', 'us-east-1a')).toBeUndefined();
    expect(retryBackoffMs(0, () => 0.5)).toBe(30_000);
    expect(retryBackoffMs(3, () => 0.5)).toBe(240_000);
    expect(retryBackoffMs(20, () => 0.5)).toBe(600_000);
  });
});

describe('local infra rule', () => {
  const local = localOffering(4, 8);
  it('is the default while nothing else is usable', () => {
    const p = planTask(task(), { usableClouds: ['local'], liveOfferings: [local] });
    expect(p.chosen).toMatchObject({ cloud: 'local', region: 'local', hourlyPrice: 0, live: true });
    const none = planTask(task(), { usableClouds: [], liveOfferings: [local] });
    expect(none.chosen.cloud).toBe('local');
  });

  it('once another infra is usable, is chosen only when named or allowed', () => {
    const ctx = { usableClouds: ['local', 'aws'], liveOfferings: [local] };
    const p = planTask(task(), ctx);
    expect(p.chosen.cloud).toBe('aws');
    const row = p.considered.find((r) => r.cloud === 'local')!;
    expect(row.excluded).toMatch(/local is used only when named \(--infra local\) or in allowed infra/);
    expect(p.failover.every((c) => c.cloud === 'aws')).toBe(true);
    expect(planTask(task([rs({ infra: { cloud: 'local' } })]), ctx).chosen.cloud).toBe('local');
    expect(planTask(task(), { ...ctx, allowedInfra: ['aws', 'local'] }).chosen.cloud).toBe('local');
    // allowed infra without local rules it out
    expect(() => planTask(task([rs({ accelerators: acc('A100', 64) })]), { ...ctx, allowedInfra: ['aws'] })).toThrow(/^no infra offers/);
  });

  it('checks live capacity: cpus, GPUs and nodes', () => {
    const gpuLocal = localOffering(16, 64, { 'NVIDIA A100': 2 });
    const ctx = { usableClouds: ['local'], liveOfferings: [gpuLocal] };
    expect(planTask(task([rs({ accelerators: acc('A100', 2) })]), ctx).chosen).toMatchObject({ cloud: 'local', accelerators: { name: 'A100', count: 2 } });
    expect(() => planTask(task([rs({ accelerators: acc('A100', 4) })]), ctx)).toThrow(/only 2 A100/);
    expect(() => planTask(task([rs({ cpus: { value: 32, atLeast: true } })]), ctx)).toThrow(/too few vCPUs/);
    expect(() => planTask(task([rs()], { numNodes: 2 }), ctx)).toThrow(/only 1 node/);
  });

  it('prices kubernetes and ssh live offerings at 0 and matches k8s alias', () => {
    const k8s = { cloud: 'kubernetes', region: 'kind-a', resources: { cpus: 8, memoryGiB: 32, accelerators: { H100: 8 } }, available: 2 };
    const ctx = { usableClouds: ['kubernetes', 'aws'], liveOfferings: [k8s, localOffering()] };
    const p = planTask(task([rs({ accelerators: acc('H100', 8), infra: { cloud: 'k8s' } })]), ctx);
    expect(p.chosen).toMatchObject({ cloud: 'kubernetes', region: 'kind-a', hourlyPrice: 0 });
    expect(planTask(task([rs({ accelerators: acc('H100', 8) })]), ctx).chosen.cloud).toBe('kubernetes');
  });
});

describe('dryrun and credentials', () => {
  it('clouds without credentials are never chosen; in dryrun they are listed, marked, for comparison', () => {
    const t = task([rs({ accelerators: acc('A100', 8) })]);
    const launch = () => planTask(t, { usableClouds: ['local'], liveOfferings: [localOffering()] });
    const dry = () => planTask(t, { usableClouds: ['local'], liveOfferings: [localOffering()], dryrun: true });
    // a dry run fails exactly as the launch does, with the cheapest cloud fit as a hint
    expect(launch).toThrow(InfeasibleError);
    expect(dry).toThrow(InfeasibleError);
    let a = '';
    let b = '';
    try { launch(); } catch (e) { a = (e as Error).message; }
    try { dry(); } catch (e) { b = (e as Error).message; }
    expect(a).toBe(b);
    expect(a).toMatch(/^no infra offers A100:8 \(enabled: local\): local: no accelerators \(asked for A100:8\); would fit on (aws|gcp)\/\S+ \S+ A100:8, \$[\d.]+\/hr, but no (aws|gcp) credentials here$/);
    expect(a).not.toContain('\n');

    const mixed = planTask(t, { usableClouds: ['aws'], liveOfferings: [], dryrun: true });
    const all = [mixed.chosen, ...mixed.failover];
    expect(all.every((c) => c.cloud === 'aws' && !c.noCredentials && !c.unavailable)).toBe(true);
    const gcpRows = mixed.considered.filter((r) => r.cloud === 'gcp' && !r.excluded);
    expect(gcpRows.length).toBeGreaterThan(0);
    expect(gcpRows.every((r) => r.noCredentials && /no credentials/.test(r.unavailable ?? ''))).toBe(true);
    expect(renderPlan(mixed)).toContain('never chosen');
    expect(planToJson(mixed)).not.toHaveProperty('no_credentials');
    // not a dry run: the same gcp rows are plain exclusions
    const real = planTask(t, { usableClouds: ['aws'], liveOfferings: [] });
    expect(real.chosen).toEqual(mixed.chosen);
    const realGcp = real.considered.filter((r) => r.cloud === 'gcp');
    expect(realGcp.every((r) => r.excluded && !r.unavailable)).toBe(true);
    expect(realGcp.filter((r) => /no credentials for gcp/.test(r.excluded!)).length).toBe(gcpRows.length);
  });

  it('a cloud with credentials that this aloft cannot provision is comparison-only too', () => {
    const ctx: OptimizeContext = { usableClouds: ['local', 'aws'], liveOfferings: [localOffering(4, 8)], provisionable: ['local', 'ssh'] };
    // a plain task: aws would be cheaper than nothing, but local is what can run it
    const p = planTask(task(), { ...ctx, dryrun: true });
    expect(p.chosen.cloud).toBe('local');
    expect(p.failover.every((c) => c.cloud === 'local')).toBe(true);
    expect(p.considered.some((r) => r.cloud === 'aws' && /cannot provision aws/.test(r.unavailable ?? ''))).toBe(true);
    expect(() => planTask(task([rs({ infra: { cloud: 'aws' } })]), ctx)).toThrow(/aws: this aloft cannot provision aws yet/);
  });
});

describe('default infra policy: the cheapest feasible enabled infra', () => {
  const pool = (name: string, cpus: number, available = 1) => ({
    cloud: 'ssh',
    region: name,
    resources: { cpus, memoryGiB: 16, accelerators: {} },
    available,
  });
  const base: OptimizeContext = { usableClouds: ['local', 'ssh'], liveOfferings: [], provisionable: ['local', 'ssh'] };

  it('a pool that fits is chosen, and this machine is then used only when named', () => {
    const p = planTask(task(), { ...base, liveOfferings: [localOffering(4, 8), pool('mypool', 8)] });
    expect(p.chosen).toMatchObject({ cloud: 'ssh', region: 'mypool' });
    expect(p.failover).toEqual([]);
    const named = planTask(task([rs({ infra: { cloud: 'local' } })]), { ...base, liveOfferings: [localOffering(4, 8), pool('mypool', 8)] });
    expect(named.chosen.cloud).toBe('local');
  });

  it('with a pool defined but unusable, a plain task runs on local (and a dry run says so)', () => {
    const ctx = { ...base, liveOfferings: [localOffering(4, 8)], liveProblems: { 'ssh/mypool': 'root@10.0.0.5:22: unreachable: connection refused' } };
    expect(planTask(task(), ctx).chosen).toMatchObject({ cloud: 'local' });
    const dry = planTask(task(), { ...ctx, dryrun: true });
    expect(dry.chosen.cloud).toBe('local');
    expect(renderPlan(dry)).toMatch(/^Chosen for task 't': local, \$0\/hr/);
  });

  it('when nothing enabled fits, the error names each enabled infra and why', () => {
    const ctx = {
      ...base,
      liveOfferings: [localOffering(4, 8), pool('busy', 16, 0)],
      liveProblems: { 'ssh/busy': 'root@10.0.0.6:22: in use by cluster a', 'ssh/mypool': 'root@10.0.0.5:22: unreachable: connection refused' },
    };
    const run = () => planTask(task([rs({ cpus: { value: 8, atLeast: true } })]), ctx);
    expect(run).toThrow(InfeasibleError);
    let msg = '';
    try { run(); } catch (e) { msg = (e as Error).message; }
    expect(msg).toMatch(/^no infra offers cpus=8\+ \(enabled: local, ssh\): /);
    expect(msg).toContain('local: local is used only when named (--infra local) or in allowed infra, since other infra is enabled');
    expect(msg).toContain('ssh/busy: only 0 node(s) available, need 1 (root@10.0.0.6:22: in use by cluster a)');
    expect(msg).toContain('ssh/mypool: root@10.0.0.5:22: unreachable: connection refused');
    expect(msg).not.toMatch(/no credentials for/);
    expect(msg).not.toContain('\n');
  });

  it('a pool that is too small is named with its reason', () => {
    const msg = (() => {
      try {
        planTask(task([rs({ cpus: { value: 8, atLeast: true } })]), { ...base, liveOfferings: [localOffering(4, 8), pool('small', 2)] });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(msg).toContain('ssh/small: too few vCPUs (2 < 8)');
  });
});

describe('render and JSON', () => {
  it('renders a table with the chosen mark and explains exclusions', () => {
    const p = planTask(task([rs({ accelerators: acc('A100', 8), infra: { cloud: 'aws' } })]), clouds);
    const text = renderPlan(p);
    for (const h of ['INFRA', 'INSTANCE', 'ACCELERATORS', 'vCPUs', 'Mem(GB)', '$/hr', '✔']) expect(text).toContain(h);
    expect(text).toContain('p4d.24xlarge');
    const explained = renderPlan(p, { explain: true });
    expect(explained).toContain('WHY NOT');
    expect(explained).toMatch(/infra is aws/);
    expect(explained).toMatch(/gcp \(\d+ places\)/);
  });

  it('JSON prices are the catalog figures (GCP host + accelerators)', () => {
    const p = planTask(task([rs({ accelerators: acc('A100', 8), infra: { cloud: 'gcp', region: 'us-central1', zone: 'us-central1-a' } })]), clouds);
    const j = planToJson(p) as { chosen: Record<string, unknown>; alternatives: unknown[] };
    const o = catalog().offerings.find((x) => x.instanceType === 'a2-highgpu-8g' && x.zone === 'us-central1-a')!;
    expect(j.chosen).toMatchObject({
      cloud: 'gcp',
      region: 'us-central1',
      zone: 'us-central1-a',
      instance_type: 'a2-highgpu-8g',
      accelerators: { A100: 8 },
      use_spot: false,
      hourly_price: Math.round((o.hostPrice! + o.acceleratorPrice!) * 1e6) / 1e6,
    });
    expect(Array.isArray(j.alternatives)).toBe(true);
  });
});

// A small synthetic catalog where egress matters: three regions in two clouds.
function egressCatalog() {
  const mk = (cloud: string, region: string, price: number): Offering => ({
    cloud, region, zone: `${region}a`, instanceType: `${cloud}.x`, acceleratorCount: 0, acceleratorMemGiB: 0, cpus: 8, memoryGiB: 32, price, spotPrice: price / 3,
  });
  return buildCatalog([mk('aws', 'r1', 1.0), mk('aws', 'r2', 0.8), mk('gcp', 'g1', 0.7), mk('gcp', 'g2', 1.3)]);
}

function bruteForce(locs: Candidate[][], edges: Array<[number, number]>, gb: number): number {
  let best = Infinity;
  const pick: Candidate[] = [];
  const rec = (t: number) => {
    if (t === locs.length) {
      best = Math.min(best, placementCost(pick, { egressGigabytes: gb }, edges));
      return;
    }
    for (const c of locs[t]!) {
      pick[t] = c;
      rec(t + 1);
    }
  };
  rec(0);
  return best;
}

describe('pipelines', () => {
  const ctx: OptimizeContext = { usableClouds: ['aws', 'gcp'], liveOfferings: [], catalog: egressCatalog() };

  it('egress is free within a region and priced across regions and clouds', () => {
    expect(egressPerGB({ cloud: 'aws', region: 'a' }, { cloud: 'aws', region: 'a' })).toBe(0);
    expect(egressPerGB({ cloud: 'aws', region: 'a' }, { cloud: 'aws', region: 'b' })).toBe(0.02);
    expect(egressPerGB({ cloud: 'gcp', region: 'a' }, { cloud: 'aws', region: 'b' })).toBe(0.12);
    expect(egressPerGB({ cloud: 'local', region: 'a' }, { cloud: 'aws', region: 'b' })).toBe(0);
  });

  it('DP equals brute force on small chains', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 12; trial++) {
      const n = 2 + (trial % 4);
      const gb = [0, 1, 5, 20, 200][trial % 5]!;
      const tasks = Array.from({ length: n }, (_, i) => task([rs({ cpus: { value: 8, atLeast: true }, useSpot: rand() < 0.3 })], { name: `t${i}`, numNodes: 1 + Math.floor(rand() * 3) }));
      const r = planChain(tasks, ctx, { egressGigabytes: gb });
      const edges = tasks.slice(1).map((_, i) => [i, i + 1] as [number, number]);
      const locs = planEach(tasks, ctx).map((p) => locations(p, 12));
      expect(r.totalCost).toBeCloseTo(bruteForce(locs, edges, gb), 6);
      expect(r.method).toBe('dp');
      expect(r.plans).toHaveLength(n);
    }
  });

  it('with heavy egress a chain stays in one place', () => {
    const tasks = [task([rs()], { name: 'a' }), task([rs({ infra: { cloud: 'aws', region: 'r1' } })], { name: 'b' })];
    const cheap = planChain(tasks, ctx, { egressGigabytes: 0 });
    expect(cheap.plans[0]!.chosen.region).toBe('g1');
    const heavy = planChain(tasks, ctx, { egressGigabytes: 1000 });
    expect(heavy.plans[0]!.chosen.region).toBe('r1');
    expect(heavy.egressCost).toBe(0);
  });

  it('ILP solves a small DAG optimally', async () => {
    const tasks = ['a', 'b', 'c', 'd'].map((name) => task([rs()], { name }));
    tasks[3] = task([rs({ infra: { cloud: 'gcp', region: 'g2' } })], { name: 'd' });
    const edges: Array<[number, number]> = [[0, 1], [0, 2], [1, 3], [2, 3]];
    const r = await planDag({ tasks, edges }, ctx, { egressGigabytes: 10, deadlineMs: 5000 });
    expect(r.method).toBe('ilp');
    const locs = planEach(tasks, ctx).map((p) => locations(p, 6));
    expect(r.totalCost).toBeCloseTo(bruteForce(locs, edges, 10), 6);
    // 10 GB: compute wins (a, b, c in cheap g1); 100 GB: egress wins, all move next to d.
    expect(r.plans.map((p) => p.chosen.region)).toEqual(['g1', 'g1', 'g1', 'g2']);
    const heavy = await planDag({ tasks, edges }, ctx, { egressGigabytes: 100, deadlineMs: 5000 });
    expect(heavy.method).toBe('ilp');
    expect(heavy.plans.map((p) => p.chosen.region)).toEqual(['g2', 'g2', 'g2', 'g2']);
    expect(heavy.totalCost).toBeCloseTo(bruteForce(locs, edges, 100), 6);
  });

  it('falls back when the ILP misses its deadline, and rejects cycles', async () => {
    const tasks = ['a', 'b', 'c'].map((name) => task([rs()], { name }));
    const plans = planEach(tasks, ctx);
    const r = await solveDag(plans, [[0, 2], [1, 2]], { egressGigabytes: 10, deadlineMs: 0 });
    expect(r.method).toBe('greedy');
    expect(r.timedOut).toBe(true);
    expect(r.totalCost).toBeCloseTo(bruteForce(plans.map((p) => locations(p, 6)), [[0, 2], [1, 2]], 10), 6);
    await expect(solveDag(plans, [[0, 1], [1, 0]], {})).rejects.toThrow(/cycle/);
  });
});
