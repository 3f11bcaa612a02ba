import { describe, expect, it } from 'vitest';
import { provisionWithFailover } from '../../src/daemon/pipeline/failover.js';
import type { Placement } from '../../src/daemon/planning.js';
import { classifyProvisionError, ProvisionError, type Provider } from '../../src/providers/types.js';

const place = (cloud: string, region: string, zone?: string): Placement => ({
  cloud,
  region,
  zone,
  hourlyPrice: 1,
  useSpot: false,
  spec: { infra: { cloud, region, zone }, useSpot: false, ports: [], labels: {} },
  infra: [cloud, region, zone].filter(Boolean).join('/'),
  failover: [],
});

/** A provider whose runInstances fails with the given errors per zone (our own interface, no cloud SDK). */
function providerFailing(errors: Record<string, Error>, tried: string[]): Provider {
  return {
    name: 'test',
    runInstances: async (req) => {
      const key = `${req.region}/${req.zone ?? ''}`;
      tried.push(key);
      const e = errors[key];
      if (e) throw e;
      return { cluster: req.cluster, nodes: [] };
    },
  } as unknown as Provider;
}

describe('provisionWithFailover', () => {
  it('blocks a zone on capacity, a region on quota, and moves down the failover order', async () => {
    const tried: string[] = [];
    const first = place('aws', 'us-east-1', 'a');
    first.failover = [place('aws', 'us-east-1', 'b'), place('aws', 'us-east-1', 'c'), place('aws', 'us-west-2', 'a'), place('aws', 'us-west-2', 'b')];
    const provider = providerFailing(
      {
        'us-east-1/a': Object.assign(new Error('We currently do not have sufficient capacity'), { name: 'InsufficientInstanceCapacity' }),
        'us-east-1/b': new Error('VcpuLimitExceeded: You have requested more vCPU capacity than your current limit'),
      },
      tried,
    );
    const progress: string[] = [];
    const r = await provisionWithFailover(first, {
      providerFor: async () => provider,
      request: (p) => ({ cluster: 'c', clusterUid: 'u', numNodes: 1, resources: p.spec, region: p.region, zone: p.zone }),
      onTry: () => undefined,
      progress: (m) => progress.push(m),
      retryUntilUp: false,
      replan: async () => first,
    });
    // us-east-1/c is skipped: the quota error blocked the whole region.
    expect(tried).toEqual(['us-east-1/a', 'us-east-1/b', 'us-west-2/a']);
    expect(r.placement.infra).toBe('aws/us-west-2/a');
    expect(progress.join('\n')).toMatch(/capacity error .*blocked aws\/us-east-1\/a/);
    expect(progress.join('\n')).toMatch(/quota error .*blocked aws\/us-east-1,/);
  });

  it('gives up with one line when everything fails, or retries until up', async () => {
    const tried: string[] = [];
    const provider = providerFailing({ 'r/z': new ProvisionError('no free host in pool', 'capacity') }, tried);
    const opts = {
      providerFor: async () => provider,
      request: (p: Placement) => ({ cluster: 'c', clusterUid: 'u', numNodes: 1, resources: p.spec, region: p.region, zone: p.zone }),
      onTry: () => undefined,
      progress: () => undefined,
      replan: async () => place('x', 'r', 'z'),
    };
    await expect(provisionWithFailover(place('x', 'r', 'z'), { ...opts, retryUntilUp: false })).rejects.toThrow(/every place in the failover order failed: x\/r\/z: no free host/);
    let rounds = 0;
    const ok = place('x', 'r', 'ok');
    await provisionWithFailover(place('x', 'r', 'z'), {
      ...opts,
      retryUntilUp: true,
      sleep: async () => {
        rounds++;
      },
      replan: async () => (rounds >= 2 ? ok : place('x', 'r', 'z')),
    });
    expect(rounds).toBe(2);
  });

  it('passes other errors straight through', async () => {
    const provider = providerFailing({ 'r/z': new Error('disk full') }, []);
    await expect(
      provisionWithFailover(place('x', 'r', 'z'), {
        providerFor: async () => provider,
        request: (p) => ({ cluster: 'c', clusterUid: 'u', numNodes: 1, resources: p.spec, region: p.region, zone: p.zone }),
        onTry: () => undefined,
        progress: () => undefined,
        retryUntilUp: true,
        replan: async () => place('x', 'r', 'z'),
      }),
    ).rejects.toThrow('disk full');
  });

  it('classifies cloud SDK errors by name and message', () => {
    expect(classifyProvisionError(Object.assign(new Error('x'), { name: 'InsufficientInstanceCapacity' }))).toBe('capacity');
    expect(classifyProvisionError(new Error('ZONE_RESOURCE_POOL_EXHAUSTED'))).toBe('capacity');
    expect(classifyProvisionError(new Error('Quota CPUS exceeded'))).toBe('quota');
    expect(classifyProvisionError(Object.assign(new Error('x'), { name: 'AuthFailure' }))).toBe('credentials');
    expect(classifyProvisionError(new Error('boom'))).toBe('other');
  });
});
