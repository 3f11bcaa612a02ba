// One attempt's log: live from the cluster while it is up, else the archived copy.
import { existsSync, readFileSync } from 'node:fs';
import type { LogStreamItem } from '../../protocol/api.js';
import type { ManagedAttempt } from '../../protocol/model.js';
import type { DaemonContext } from '../context.js';

export async function streamClusterLog(
  ctx: DaemonContext,
  a: ManagedAttempt,
  follow: boolean,
  send: (i: LogStreamItem) => void,
  signal: AbortSignal,
): Promise<void> {
  if (a.jobId === undefined || !a.clusterUid) return;
  const rec = ctx.store.getCluster(a.cluster);
  if (rec && rec.uid === a.clusterUid && rec.status === 'UP') {
    try {
      const client = await ctx.links.get(a.cluster);
      const handle = await client.stream('logs', { jobId: a.jobId, follow }, (item: unknown) => {
        const text = (item as { text?: string }).text;
        if (text && !signal.aborted) send({ type: 'text', text });
      });
      signal.addEventListener('abort', () => handle.cancel(), { once: true });
      await handle.done;
      return;
    } catch {
      /* the cluster went away under us: use the archived copy */
    }
  }
  await ctx.archive.idle();
  const path = ctx.store.jobLog(a.clusterUid, a.jobId) ?? ctx.archive.pathFor({ clusterUid: a.clusterUid, id: a.jobId });
  if (existsSync(path)) send({ type: 'text', text: readFileSync(path, 'utf8') });
}
