// A provider saw a node of a cluster go away (a kubernetes pod deleted, evicted or exited): the
// cluster goes INIT with the reason at once, without waiting for the agent link to notice. The
// managed-jobs controller is woken by that change and recovers its job; `aloft start` repairs
// an ordinary cluster.
import type { Provider } from '../providers/types.js';
import type { DaemonContext } from './context.js';

export function wireNodeLoss(ctx: DaemonContext, provider: Provider): void {
  provider.onNodeLost?.((cluster, reason) => {
    const rec = ctx.store.getCluster(cluster);
    if (!rec || rec.status !== 'UP' || rec.cloud !== provider.name) return;
    ctx.log.warn({ cluster, reason }, 'node lost');
    ctx.store.updateCluster(cluster, { status: 'INIT', statusReason: `${reason}; run \`aloft start ${cluster}\` to repair` });
    ctx.store.notice(`cluster ${cluster}: ${reason}`, 'warn', cluster);
    ctx.links.drop(cluster);
  });
}
