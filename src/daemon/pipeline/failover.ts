// PROVISION with failover: try the chosen place, and on a capacity, quota or credential error
// block that zone, region or cloud and move down the optimizer's failover order. With
// --retry-until-up, start over after a backoff once every place has failed.

import { Blocklist, retryBackoffMs } from '../../optimizer/blocklist.js';
import type { ClusterInfo, Provider, ProvisionRequest } from '../../providers/types.js';
import { classifyProvisionError } from '../../providers/types.js';
import { UserError, errorMessage } from '../../util/errors.js';
import type { Placement } from '../planning.js';

export interface FailoverOptions {
  providerFor: (cloud: string) => Promise<Provider>;
  request: (p: Placement) => ProvisionRequest;
  /** called before trying a place (to record it on the cluster) */
  onTry: (p: Placement) => void;
  progress: (m: string) => void;
  /** called with one line per failed attempt (kept on the request: `aloft requests`) */
  onFailure?: (line: string) => void;
  retryUntilUp: boolean;
  /** re-plans after a full round failed (retry-until-up) */
  replan: () => Promise<Placement>;
  signal?: AbortSignal;
  sleep?: (ms: number) => Promise<void>;
}

export async function provisionWithFailover(first: Placement, o: FailoverOptions): Promise<{ info: ClusterInfo; placement: Placement }> {
  const sleep = o.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  let placement = first;
  for (let round = 1; ; round++) {
    const blocklist = new Blocklist();
    const failures: string[] = [];
    for (const p of [placement, ...placement.failover]) {
      if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new UserError('launch cancelled');
      const hit = blocklist.blocked(p.cloud, p.region ?? '', p.zone);
      if (hit) continue;
      o.onTry(p);
      try {
        const provider = await o.providerFor(p.cloud);
        const info = await provider.runInstances(o.request(p));
        return { info, placement: p };
      } catch (err) {
        const kind = classifyProvisionError(err);
        if (kind === 'other') throw err;
        const msg = errorMessage(err);
        const e = blocklist.addFailure({ cloud: p.cloud, region: p.region ?? '', zone: p.zone }, kind, msg);
        failures.push(`${p.infra}: ${msg}`);
        const line = `${p.infra}: ${kind} error (${msg}); blocked ${[e.cloud, e.region, e.zone].filter(Boolean).join('/')}`;
        o.onFailure?.(line);
        o.progress(`${line}, trying the next place`);
      }
    }
    if (!o.retryUntilUp) {
      throw new UserError(`every place in the failover order failed: ${failures.join('; ')}${failures.length ? '' : 'nothing to try'} (retry with --retry-until-up)`);
    }
    const wait = retryBackoffMs(round);
    o.progress(`no place could provision (round ${round}); retrying in ${Math.round(wait / 1000)}s`);
    await sleep(wait);
    if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new UserError('launch cancelled');
    placement = await o.replan();
  }
}
