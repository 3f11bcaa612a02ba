// The launch pipeline: OPTIMIZE → PROVISION → START_AGENTS → SYNC_WORKDIR → SYNC_FILE_MOUNTS →
// SETUP+EXEC (the job runs setup, then run, on the agents). Each stage is recorded on the request
// so a crash leaves a row saying how far it got.

import type { LaunchParams } from '../../protocol/api.js';
import type { ClusterRecord, RequestRecord } from '../../protocol/model.js';
import { UserError, errorMessage } from '../../util/errors.js';
import { shortId } from '../../util/names.js';
import type { DaemonContext } from '../context.js';
import { ignoredFieldsNote, planLaunch, type Placement } from '../planning.js';
import { getProvider } from '../providers.js';
import { startAgents } from './agents.js';
import { describeDemand, submissionOf } from './jobs.js';
import { mountDestination, syncFileMounts, syncWorkdir } from './sync.js';
import { describeResources, teardown } from './lifecycle.js';
import { RequestCancelled } from '../requests.js';
import { provisionWithFailover } from './failover.js';
import { applyStorage, checkLocalTools, prepareStorage, toolNeeds, type PreparedStorage } from './storage.js';
import { syncGitWorkdir } from './git-workdir.js';

export async function runLaunch(ctx: DaemonContext, params: LaunchParams, req: RequestRecord): Promise<{ jobId?: number }> {
  const { store, requests } = ctx;
  const task = params.task;
  const name = req.cluster;
  const signal = requests.signal(req.id);
  /** Stops here if the request was cancelled (`aloft requests cancel`). */
  const checkCancelled = () => {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new RequestCancelled();
  };
  // A stage is durable before its work touches the outside world (PostgreSQL state): a crash
  // then finds the request at that stage, and the cluster record before any node exists.
  const stage = async (s: string, m?: string) => {
    checkCancelled();
    requests.stage(req.id, s, m);
    await store.durable();
    await debugPause(s, signal);
    checkCancelled();
  };
  const progress = (m: string) => requests.progress(req.id, m);

  return ctx.locks.with(name, async () => {
    await stage('OPTIMIZE');
    let rec = store.getCluster(name);
    let fresh = false;
    let placement: Placement | undefined;
    if (!rec) {
      placement = await planLaunch(ctx, task, { avoidRegions: params.avoidRegions, preferRegion: params.preferRegion });
      const provider = await getProvider(placement.cloud, ctx.home);
      for (const m of task.fileMounts) await mountDestination(provider, m.dest);
      let autostop =
        params.idleMinutes !== undefined
          ? { idleMinutes: params.idleMinutes, down: params.down ?? false }
          : placement.spec.autostop
            ? { ...placement.spec.autostop }
            : params.down
              ? { idleMinutes: 0, down: true } // SkyPilot: --down alone tears down once the jobs are done
              : undefined;
      if (autostop && !autostop.down && !provider.capabilities.stop) {
        // Nothing to stop on this infra (kubernetes pods): idle clusters are torn down instead.
        autostop = { ...autostop, down: true };
        progress(`${placement.cloud} clusters cannot be stopped: autostop will tear the cluster down (autodown)`);
      }
      // The cluster and the request's claim on it are written together: a crash between the two
      // would leave a cluster no recovery knows to remove.
      const p = placement;
      rec = store.tx(() => {
        const created = store.putCluster({
          name,
          uid: shortId(6),
          status: 'INIT',
          cloud: p.cloud,
          region: p.region,
          zone: p.zone,
          infra: p.infra,
          numNodes: task.numNodes,
          instanceType: p.instanceType,
          resources: `${task.numNodes}x(pending)`,
          useSpot: p.useSpot,
          hourlyPrice: p.hourlyPrice * task.numNodes,
          launchedAt: Date.now(),
          updatedAt: Date.now(),
          statusReason: 'launching',
          ...(autostop ? { autostop } : {}),
          ...(req.user ? { user: req.user } : {}),
        });
        store.putRequest({ ...store.getRequest(req.id)!, createdCluster: true });
        if (p.spec.ports.length) store.setInternal(name, { ports: p.spec.ports });
        return created;
      });
      fresh = true;
      progress(`chose ${placement.infra}${placement.instanceType ? ` (${placement.instanceType})` : ''}, $${placement.hourlyPrice.toFixed(2)}/hr`);
      const ignored = ignoredFieldsNote(placement.cloud, placement.spec);
      if (ignored) progress(ignored);
    } else {
      checkFits(rec, params);
      if (params.idleMinutes !== undefined) {
        rec = store.updateCluster(name, { autostop: { idleMinutes: params.idleMinutes, down: params.down ?? false } })!;
      } else if (params.down) {
        rec = store.updateCluster(name, { autostop: { idleMinutes: rec.autostop?.idleMinutes ?? 0, down: true } })!;
      }
      progress(`reusing cluster ${name} (${rec.status})`);
    }

    try {
      let provider = await getProvider(rec.cloud, ctx.home);
      // Buckets and git workdirs: every problem found before a node is provisioned.
      if (provider.name === 'local') await checkLocalTools(toolNeeds(task.storageMounts ?? [], !!task.gitWorkdir));
      let storage: PreparedStorage | undefined;
      if (task.storageMounts?.length) {
        storage = await prepareStorage(ctx, task, { cluster: name, cloud: rec.cloud, provider, progress });
      }
      const needsAgents = rec.status !== 'UP' || !(await agentAlive(ctx, name));
      if (needsAgents) {
        await stage('PROVISION');
        ctx.links.drop(name);
        const uid = rec.uid;
        const numNodes = rec.numNodes;
        const request = (p: { spec: Placement['spec']; region?: string; zone?: string; instanceType?: string }) => ({
          cluster: name,
          clusterUid: uid,
          numNodes,
          resources: p.spec,
          region: p.region,
          zone: p.zone,
          instanceType: p.instanceType,
          ...(task.config ? { config: task.config } : {}),
          onProgress: progress,
        });
        let info;
        if (fresh && placement) {
          const r = await provisionWithFailover(placement, {
            providerFor: (cloud) => getProvider(cloud, ctx.home),
            request,
            onTry: (p) => {
              if (p === placement) return;
              rec = store.updateCluster(name, {
                cloud: p.cloud,
                region: p.region,
                zone: p.zone,
                infra: p.infra,
                instanceType: p.instanceType,
                hourlyPrice: p.hourlyPrice * task.numNodes,
              })!;
              progress(`failing over to ${p.infra}`);
            },
            progress,
            onFailure: (line) => {
              const cur = store.getRequest(req.id);
              if (cur) store.putRequest({ ...cur, attempts: [...(cur.attempts ?? []), line] });
            },
            retryUntilUp: params.retryUntilUp ?? false,
            signal,
            replan: () => planLaunch(ctx, task, { avoidRegions: params.avoidRegions, preferRegion: params.preferRegion }),
          });
          info = r.info;
          provider = await getProvider(r.placement.cloud, ctx.home);
        } else {
          info = await provider.runInstances(
            request({ spec: task.resources.candidates[0]!, region: rec.region, zone: rec.zone, instanceType: rec.instanceType }),
          );
        }
        await provider.waitInstances(name, 'running');
        store.setInternal(name, { nodes: info.nodes });
        checkCancelled();
        progress(`${info.nodes.length} node(s) ready`);

        await stage('START_AGENTS');
        // Autostop is armed once the job is in (below): a sync or setup must not look idle.
        const started = await startAgents(ctx, rec, provider, info, progress, { deferAutostop: true });
        rec = store.updateCluster(name, {
          nodeResources: started[0]!.resources,
          resources: describeResources(rec.numNodes, started[0]!.resources, rec.instanceType),
        })!;
      }
      const nodes = store.getInternal(name).nodes ?? [];

      if (task.workdir) {
        await stage('SYNC_WORKDIR', task.workdir);
        const synced = await syncWorkdir(provider, name, nodes, task.workdir);
        for (const w of synced.warnings) progress(`warning: ${w}`);
        progress(`synced workdir ${task.workdir}: ${synced.text}`);
      } else if (task.gitWorkdir) {
        await stage('SYNC_WORKDIR', task.gitWorkdir.url);
        progress(await syncGitWorkdir(provider, name, nodes, task.gitWorkdir, task.secrets, progress));
      }
      if (task.fileMounts.length > 0 || storage) {
        await stage('SYNC_FILE_MOUNTS');
        if (task.fileMounts.length > 0) await syncFileMounts(provider, name, nodes, task.fileMounts, progress);
        if (storage) await applyStorage(ctx, provider, name, nodes, storage, progress);
      }
      rec = store.updateCluster(name, { status: 'UP', statusReason: undefined })!;

      // The request's id goes with the job: a daemon that dies after the agent took it finds the
      // job by it on restart (recover.ts) instead of reporting a running job as failed.
      const sub = submissionOf(task, {
        requestId: req.id,
        withSetup: !params.noSetup,
        ...(params.taskId ? { taskId: params.taskId } : {}),
        ...(params.managedJobId !== undefined
          ? { extraEnv: { SKYPILOT_MANAGED_JOB_ID: String(params.managedJobId) } }
          : {}),
        ...(req.user ? { user: req.user } : {}),
      });
      checkCancelled();
      const client = await ctx.links.get(name);
      // (Re)arming autostop also restarts the idle clock: a launch is activity.
      const armAutostop = async () => {
        if (!rec!.autostop) return;
        await client.call('setAutostop', rec!.autostop);
        // A relaunch may have changed --down: what the nodes' power-off does follows it.
        if (!needsAgents) await provider.setAutostop?.(name, rec!.autostop);
      };
      if (!sub) {
        await armAutostop();
        return {};
      }
      await stage(sub.setup ? 'SETUP' : 'EXEC', describeDemand(sub.numNodes, sub.demand));
      const { jobId } = await client.call('submit', sub);
      await debugPause('SUBMITTED', signal); // crash tests: between the agent taking the job and the request recording it
      await armAutostop();
      progress(`submitted job ${jobId}`);
      return { jobId };
    } catch (err) {
      if (fresh) {
        // A cluster this launch created and could not finish is torn down: no orphan nodes.
        progress(`launch ${err instanceof RequestCancelled ? 'cancelled' : `failed (${errorMessage(err)})`}; cleaning up`);
        await teardown(ctx, name, { archive: false, reason: err instanceof RequestCancelled ? 'launch cancelled' : `launch failed: ${errorMessage(err)}` }).catch((e) =>
          ctx.log.error({ cluster: name, err: errorMessage(e) }, 'cleanup after failed launch failed'),
        );
      } else if (store.getCluster(name)?.status === 'INIT') {
        store.updateCluster(name, { statusReason: `launch failed: ${errorMessage(err)}` });
      }
      throw err;
    }
  });
}

/** Test hook: ALOFT_DEBUG_PAUSE_STAGE=STAGE:MS holds the pipeline at a stage (or SUBMITTED: right after the submit) for crash and cancel tests. */
function debugPause(stage: string, signal: AbortSignal): Promise<void> {
  const spec = process.env.ALOFT_DEBUG_PAUSE_STAGE;
  if (!spec) return Promise.resolve();
  const [name, ms] = spec.split(':');
  if (name !== stage) return Promise.resolve();
  return new Promise((r) => {
    const t = setTimeout(done, Number(ms) || 0);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      r();
    }
  });
}

function checkFits(rec: ClusterRecord, params: LaunchParams): void {
  const task = params.task;
  if (task.numNodes > rec.numNodes) {
    throw new UserError(`cluster '${rec.name}' has ${rec.numNodes} node(s); the task needs ${task.numNodes}`);
  }
  if (!rec.useSpot && task.resources.candidates.every((c) => c.useSpot)) {
    throw new UserError(`cluster '${rec.name}' runs on-demand nodes; the task asks for spot (use another cluster name)`);
  }
  const want = task.resources.candidates[0]?.infra.cloud;
  if (want && want !== '*' && want !== rec.cloud) {
    throw new UserError(`cluster '${rec.name}' runs on ${rec.infra}; the task asks for ${want} (use another cluster name)`);
  }
}

async function agentAlive(ctx: DaemonContext, name: string): Promise<boolean> {
  try {
    await ctx.links.get(name);
    return true;
  } catch {
    return false;
  }
}
