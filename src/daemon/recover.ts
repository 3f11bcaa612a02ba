// After a restart (including SIGKILL): launches that were mid-pipeline are marked failed with the
// stage they reached (and a cluster they created is torn down, so no node is orphaned); clusters
// that were UP are re-attached to their agents, which kept running jobs meanwhile.
import type { AutostopMarker } from '../agent/protocol.js';
import { errorMessage } from '../util/errors.js';
import type { DaemonContext } from './context.js';
import { onAutostop, teardown } from './pipeline/lifecycle.js';
import { getProvider } from './providers.js';

export async function recoverAfterRestart(ctx: DaemonContext): Promise<void> {
  const { store, log } = ctx;
  for (const req of store.runningRequests()) {
    const error = `interrupted at stage ${req.stage ?? 'START'}: the daemon stopped`;
    store.putRequest({ ...req, status: 'FAILED', finishedAt: Date.now(), error });
    log.warn({ request: req.id, cluster: req.cluster }, error);
    const rec = store.getCluster(req.cluster);
    if (req.kind === 'launch' && req.createdCluster && rec && rec.status === 'INIT') {
      store.notice(`launch of ${req.cluster} ${error}; removing its nodes`, 'warn', req.cluster);
      await ctx.locks
        .with(req.cluster, () => teardown(ctx, req.cluster, { archive: false }))
        .catch((err) => log.error({ cluster: req.cluster, err: errorMessage(err) }, 'cleanup failed'));
    } else if (rec && rec.status === 'INIT') {
      store.updateCluster(req.cluster, { statusReason: `${req.kind} ${error}; run \`aloft start ${req.cluster}\`` });
    }
  }

  await Promise.all(
    store
      .listClusters()
      .filter((c) => c.status === 'UP' || c.status === 'INIT')
      .map(async (c) => {
        if (await ctx.links.check(c.name)) return;
        // The agent is gone: if it autostopped while we were down, finish that; else keep checking.
        const marker = await readAutostopMarker(ctx, c.name);
        if (marker) return onAutostop(ctx, c.name, marker);
        ctx.links.scheduleCheck(c.name, 5000);
      }),
  );
}

async function readAutostopMarker(ctx: DaemonContext, name: string): Promise<AutostopMarker | undefined> {
  const rec = ctx.store.getCluster(name);
  const head = ctx.store.getInternal(name).nodes?.[0];
  if (!rec || !head) return undefined;
  try {
    const provider = await getProvider(rec.cloud, ctx.home);
    const r = await provider.transport(name, head).exec('cat autostopped.json 2>/dev/null', { timeoutMs: 15_000 });
    return r.code === 0 && r.stdout.trim() ? (JSON.parse(r.stdout) as AutostopMarker) : undefined;
  } catch {
    return undefined;
  }
}
