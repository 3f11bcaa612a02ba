// Reads a finished job's log for the archive: through the head agent when it answers, straight
// off the head node's disk when it does not (after autostop, or when the agent was killed).
import type { JobRecord } from '../protocol/model.js';
import { shellQuote } from '../util/shell.js';
import type { DaemonContext } from './context.js';
import { MAX_JOB_LOG, type LogFetcher } from './logs.js';
import { getProvider } from './providers.js';

export function makeLogFetcher(ctx: DaemonContext): LogFetcher {
  return async (job: JobRecord) => {
    const rec = ctx.store.getCluster(job.cluster);
    if (rec && rec.uid === job.clusterUid && ctx.links.has(job.cluster)) {
      try {
        const client = await ctx.links.get(job.cluster);
        const chunks: Buffer[] = [];
        const { done } = await client.stream('logs', { jobId: job.id, follow: false }, (item: unknown) => {
          const text = (item as { text?: string }).text;
          if (text) chunks.push(Buffer.from(text));
        });
        await done;
        return Buffer.concat(chunks);
      } catch {
        /* fall back to the file */
      }
    }
    const head = ctx.store.getInternal(job.cluster).nodes?.[0];
    if (!rec || !head) throw new Error('cluster gone before its log was saved');
    const provider = await getProvider(rec.cloud, ctx.home);
    const r = await provider
      .transport(job.cluster, head)
      .exec(`tail -c ${MAX_JOB_LOG} ${shellQuote(`jobs/${job.id}/run.log`)}`, { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(r.stderr.trim() || `reading the log failed (exit ${r.code})`);
    return Buffer.from(r.stdout);
  };
}
