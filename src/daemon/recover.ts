// After a restart (including SIGKILL), level-triggered from what is stored, and safe to cut short
// and run again (a second crash during recovery just means the next daemon picks up from there):
//   1. every request a previous daemon left RUNNING is settled. A launch whose job the head agent
//      has (found by the request id it was submitted with) succeeded; one that created its cluster
//      and did not get that far fails, and its cluster is marked for teardown in the same
//      transaction; an interrupted `down` is finished; anything else fails with its stage.
//   2. every teardown marked pending (by step 1, or by a `down` cut short) is carried out; the
//      mark goes only with the cluster's row, so a crash in the middle repeats it.
//   3. clusters that were UP are re-attached to their agents, which kept running jobs meanwhile.
import type { AutostopMarker } from '../agent/protocol.js';
import type { RequestRecord } from '../protocol/model.js';
import { errorMessage } from '../util/errors.js';
import type { DaemonContext } from './context.js';
import { onAutostop, teardown } from './pipeline/lifecycle.js';
import { getProvider } from './providers.js';

export async function recoverAfterRestart(ctx: DaemonContext): Promise<void> {
  const { store } = ctx;
  await Promise.all(store.runningRequests().map((req) => settleInterrupted(ctx, req)));
  await Promise.all(
    store
      .listClusters()
      .filter((c) => store.getInternal(c.name).teardown)
      .map((c) => resumeTeardown(ctx, c.name)),
  );
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

const interrupted = (req: RequestRecord) => `interrupted at stage ${req.stage ?? 'START'}: the daemon stopped`;

async function settleInterrupted(ctx: DaemonContext, req: RequestRecord): Promise<void> {
  const { store, log } = ctx;
  const rec = store.getCluster(req.cluster);
  const fail = (error: string) => {
    ctx.requests.finish(req.id, { error });
    log.warn({ request: req.id, cluster: req.cluster }, error);
  };
  if (req.kind === 'down') {
    // Finished by resumeTeardown (step 2) if the teardown had started; else it never acted.
    if (!rec) ctx.requests.finish(req.id, {});
    else if (!store.getInternal(req.cluster).teardown) fail(interrupted(req));
    return;
  }
  if (req.kind === 'launch' && rec && (req.stage === 'SETUP' || req.stage === 'EXEC')) return settleSubmission(ctx, req);
  if (req.kind === 'launch' && req.createdCluster && rec && rec.status === 'INIT') {
    const error = interrupted(req);
    store.tx(() => {
      ctx.requests.finish(req.id, { error });
      if (!store.getInternal(req.cluster).teardown) {
        store.setInternal(req.cluster, { teardown: { reason: `launch ${error}`, archive: false, purge: false, at: Date.now() } });
      }
      // what `status` shows until the teardown (step 2) removes the row
      store.updateCluster(req.cluster, { statusReason: `removing its nodes: launch ${error}` });
    });
    store.notice(`launch of ${req.cluster} ${error}; removing its nodes`, 'warn', req.cluster);
    return;
  }
  fail(interrupted(req));
  if (rec && rec.status === 'INIT' && !store.getInternal(req.cluster).teardown) {
    store.updateCluster(req.cluster, { statusReason: `${req.kind} ${interrupted(req)}; run \`aloft start ${req.cluster}\`` });
  }
}

/**
 * A launch cut short around its job's submission: the head agent knows whether it took the job
 * (submissions carry the request id). If it did, the launch succeeded and the client that
 * re-attaches follows that job; if it did not, the launch failed before running anything, so a
 * retry cannot run the job twice.
 */
async function settleSubmission(ctx: DaemonContext, req: RequestRecord): Promise<void> {
  const { store } = ctx;
  let jobId: number | undefined;
  let reachable = false;
  try {
    if (await ctx.links.check(req.cluster)) {
      const client = await ctx.links.get(req.cluster);
      reachable = true;
      const { jobs } = await client.call('jobs', { requestId: req.id });
      jobId = jobs.find((j) => j.requestId === req.id)?.id;
      // The launch arms autostop right after the submit; it may not have got there.
      const autostop = store.getCluster(req.cluster)?.autostop;
      if (autostop) await client.call('setAutostop', autostop);
    }
  } catch (err) {
    ctx.log.warn({ request: req.id, err: errorMessage(err) }, 'could not ask the head agent about an interrupted launch');
  }
  if (jobId !== undefined) {
    ctx.requests.finish(req.id, { jobId });
    store.notice(`launch of ${req.cluster}: the daemon stopped after submitting job ${jobId}; the job runs`, 'info', req.cluster);
  } else if (reachable) {
    ctx.requests.finish(req.id, { error: `${interrupted(req)} before its job was submitted (nothing ran; a retry is safe)` });
  } else {
    ctx.requests.finish(req.id, {
      error: `${interrupted(req)}, and the head agent does not answer, so whether its job started is unknown; see \`aloft queue ${req.cluster}\` after \`aloft start ${req.cluster}\``,
    });
  }
}

async function resumeTeardown(ctx: DaemonContext, name: string): Promise<void> {
  const { store } = ctx;
  const mark = store.getInternal(name).teardown!;
  try {
    await ctx.locks.with(name, () => (store.getCluster(name) ? teardown(ctx, name, { archive: mark.archive, purge: mark.purge }) : Promise.resolve()));
    if (mark.requestId && store.getRequest(mark.requestId)?.status === 'RUNNING') ctx.requests.finish(mark.requestId, {});
  } catch (err) {
    ctx.log.error({ cluster: name, err: errorMessage(err) }, 'resumed teardown failed');
    if (mark.requestId && store.getRequest(mark.requestId)?.status === 'RUNNING') ctx.requests.finish(mark.requestId, { error: err });
    store.updateCluster(name, { statusReason: `teardown failed: ${errorMessage(err)}; retry with \`aloft down ${name}\` (--purge to forget it)` });
  }
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
