// Spot on the local infra, for real: a local cluster launched with use_spot can be preempted by
// hand (`aloft local preempt`) or at random (config `local.spot_mtbp_seconds`, a mean time
// between preemptions), which kills its nodes abruptly the way a cloud reclaims spot instances.
import type { DaemonContext } from './context.js';
import { LocalProvider } from '../providers/local/provider.js';
import { getProvider } from './providers.js';
import { homePaths } from '../util/paths.js';
import { errorMessage } from '../util/errors.js';

export async function preemptLocal(ctx: DaemonContext, cluster: string): Promise<void> {
  const provider = (await getProvider('local', ctx.home)) as LocalProvider;
  await provider.preempt(cluster);
  // Said and acted on at once (reason, jobs FAILED_DRIVER), not when a health check notices.
  const { notePreemption } = await import('./pipeline/lifecycle.js');
  await ctx.locks.with(cluster, () => notePreemption(ctx, cluster));
}

/** Reads `local.spot_mtbp_seconds` from ALOFT_HOME/config.yaml (or ALOFT_SPOT_MTBP_SECONDS). */
export async function chaosInterval(home: string): Promise<number | undefined> {
  if (process.env.ALOFT_SPOT_MTBP_SECONDS) return Number(process.env.ALOFT_SPOT_MTBP_SECONDS);
  const { loadConfig } = await import('../spec/config.js');
  return loadConfig(homePaths(home).config).spotMtbpSeconds;
}

/** Preempts a random UP local spot cluster at exponentially distributed intervals. */
export async function startChaos(ctx: DaemonContext): Promise<void> {
  let mtbp: number | undefined;
  try {
    mtbp = await chaosInterval(ctx.home);
  } catch (err) {
    // A broken config.yaml: every command that needs it reports it (the CLI checks it first).
    ctx.log.error({ err: errorMessage(err) }, 'config.yaml is invalid; local spot chaos is off');
    return;
  }
  if (!mtbp) return;
  ctx.log.info({ mtbp }, 'local spot chaos enabled');
  const next = () => {
    const wait = -Math.log(1 - Math.random()) * mtbp * 1000;
    setTimeout(async () => {
      const victims = ctx.store.listClusters().filter((c) => c.cloud === 'local' && c.useSpot && c.status === 'UP');
      const v = victims[Math.floor(Math.random() * victims.length)];
      if (v) await preemptLocal(ctx, v.name).catch(() => undefined);
      next();
    }, wait).unref();
  };
  next();
}
