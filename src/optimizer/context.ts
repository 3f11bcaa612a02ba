// Builds an OptimizeContext from this machine: usable infra from credential detection, plus the
// live offerings the caller gathered from its providers.
import type { LiveOffering } from '../providers/types.js';
import { detectInfra, usableInfra, type DetectOptions } from '../catalog/detect.js';
import type { Blocklist } from './blocklist.js';
import type { OptimizeContext } from './types.js';

export async function contextFromMachine(
  opts: {
    liveOfferings?: LiveOffering[];
    allowedInfra?: string[];
    dryrun?: boolean;
    minimize?: 'cost' | 'time';
    blocklist?: Blocklist;
    detect?: DetectOptions;
    /** infra with credentials, when the caller knows (skips detection) */
    usableClouds?: string[];
  } = {},
): Promise<OptimizeContext> {
  return {
    usableClouds: opts.usableClouds ?? usableInfra(await detectInfra(opts.detect)),
    liveOfferings: opts.liveOfferings ?? [],
    allowedInfra: opts.allowedInfra,
    dryrun: opts.dryrun,
    minimize: opts.minimize,
    blocklist: opts.blocklist,
  };
}
