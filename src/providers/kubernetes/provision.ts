// runInstances on kubernetes: create one pod per node (and a Service for `ports:`), wait until
// every pod runs, and turn what the cluster says into the errors the failover loop understands:
// Pending because the scheduler cannot place it (past the provision timeout) is a capacity error
// with the scheduler's own message (→ next context / infra); an image that cannot be pulled fails
// at once naming the image; anything else is reported as the pod's own words. A failed attempt
// deletes what it created before it returns, so the next context starts clean.
import type { V1Pod } from '@kubernetes/client-node';
import { ProvisionError, type ProvisionRequest } from '../types.js';
import { UserError, errorMessage } from '../../util/errors.js';
import { canonicalAccelerator } from '../../catalog/accelerators.js';
import type { KubeApi } from './api.js';
import { effectiveDemand } from './capacity.js';
import { gpuPlacement } from './gpu-labels.js';
import {
  agentConfigMapName,
  buildAgentConfigMap,
  buildPod,
  buildService,
  DEFAULT_IMAGE,
  DEFAULT_RUNTIME_IMAGE,
  expandPorts,
  LABEL_RANK,
  MAIN_CONTAINER,
  podName,
  selector,
  taskImage,
} from './pod-spec.js';
import { podState } from './pod-status.js';
import type { KubeClusterRecord, PodRecord } from './records.js';
import type { SnapshotCache } from './snapshot.js';
import type { KubernetesConfig } from '../../spec/kubernetes-config.js';
import { KubernetesTransport } from './transport.js';
import type { KubeContext } from './kubeconfig.js';

/** SkyPilot's default provision_timeout on kubernetes. */
export const DEFAULT_PROVISION_TIMEOUT_S = 10;
/** Bound on everything else (image pulls, container start) so a launch never hangs forever. */
const START_TIMEOUT_MS = 15 * 60_000;

export interface ProvisionDeps {
  api: KubeApi;
  ctx: KubeContext;
  namespace: string;
  config: KubernetesConfig & { podConfigs: Array<Record<string, unknown>> };
  snapshots: SnapshotCache;
  saveRecord(r: KubeClusterRecord): void;
  /** the agent bundle to ship in the cluster's ConfigMap (its text and sha256) */
  agent?: { bundle: string; sha: string };
  /** the task's `config.kubernetes`, kept so a repair recreates pods the same way */
  taskConfig?: KubernetesConfig;
  progress(m: string): void;
}

/** What each pod of the request gets. */
export function shapeOf(req: ProvisionRequest): KubeClusterRecord['shape'] {
  const acc = req.resources.accelerators?.[0];
  const gpus = acc?.count ?? 0;
  if (gpus > 0 && !Number.isInteger(gpus)) {
    throw new UserError(`kubernetes pods request whole GPUs; ${acc!.name}:${gpus} asks for a fraction`);
  }
  const d = effectiveDemand({ cpus: req.resources.cpus?.value, memoryGiB: req.resources.memory?.value, gpus, accelerator: acc?.name });
  return { cpus: d.cpus, memoryGiB: d.memoryGiB, gpus, ...(acc ? { accelerator: canonicalAccelerator(acc.name) ?? acc.name } : {}) };
}

/** Creates the cluster's pods in one context and waits until they run. */
export async function createCluster(req: ProvisionRequest, d: ProvisionDeps, previous?: KubeClusterRecord): Promise<KubeClusterRecord> {
  const context = d.ctx.name;
  // Recreating missing pods of an existing cluster (`aloft start`) keeps the shape it was launched with.
  const shape = previous ? { ...previous.shape } : shapeOf(req);
  const portsMode = previous?.portsMode ?? d.config.ports ?? 'nodeport';
  let ports: number[];
  try {
    ports = previous?.ports ?? expandPorts(req.resources.ports ?? []);
  } catch (err) {
    throw new UserError(errorMessage(err));
  }
  let gpu;
  if (shape.gpus > 0) {
    const snap = await d.snapshots.get(d.api, d.namespace, 3000);
    gpu = gpuPlacement(snap.nodes, shape.accelerator!);
    if (!gpu) throw new ProvisionError(`context ${context} has no node with ${shape.accelerator} (capacity)`, 'capacity');
    shape.resourceKey = gpu.resourceKey;
  }
  const image = previous?.image ?? taskImage(req.resources.imageId, context, d.config.image ?? DEFAULT_IMAGE);
  const meta = d.config.customMetadata ?? {};
  const labels = previous?.labels ?? { ...meta.labels, ...req.resources.labels };
  const rec: KubeClusterRecord = {
    cluster: req.cluster,
    uid: req.clusterUid,
    context,
    namespace: d.namespace,
    numNodes: req.numNodes,
    shape,
    image,
    ports,
    portsMode,
    labels,
    ...(previous?.agentSha ? { agentSha: previous.agentSha } : d.agent ? { agentSha: d.agent.sha } : {}),
    ...(d.taskConfig ? { taskConfig: d.taskConfig } : {}),
    pods: previous?.pods ?? [],
    createdAt: previous?.createdAt ?? Date.now(),
  };
  // Written before anything exists in the cluster: a daemon killed from here on still finds it.
  d.saveRecord(rec);
  const existing = new Map((await d.api.listPods(d.namespace, selector(req.cluster, req.clusterUid))).map((p) => [p.metadata?.name, p]));
  // A repair: pods that were evicted, exited or are going away are replaced by fresh ones.
  const dead = [...existing.values()].filter((p) => p.metadata?.deletionTimestamp || p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded');
  if (dead.length) {
    d.progress(`replacing ${dead.length} lost pod(s): ${dead.map((p) => p.metadata!.name).join(', ')}`);
    await Promise.all(dead.map((p) => d.api.deletePod(d.namespace, p.metadata!.name!, 0)));
    for (const p of dead) {
      const deadline = Date.now() + 120_000;
      while (await d.api.readPod(d.namespace, p.metadata!.name!)) {
        if (Date.now() > deadline) throw new Error(`pod ${p.metadata!.name} is still being deleted after 2 minutes`);
        await new Promise((r) => setTimeout(r, 200));
      }
      existing.delete(p.metadata!.name);
    }
  }
  const pods: V1Pod[] = [];
  for (let rank = 0; rank < req.numNodes; rank++) {
    pods.push(
      buildPod({
        cluster: req.cluster,
        uid: req.clusterUid,
        rank,
        namespace: d.namespace,
        image,
        runtimeImage: d.config.runtimeImage ?? DEFAULT_RUNTIME_IMAGE,
        cpus: shape.cpus,
        memoryGiB: shape.memoryGiB,
        gpus: shape.gpus,
        gpu,
        ports: portsMode === 'podip' || rank === 0 ? ports : undefined,
        labels,
        annotations: meta.annotations,
        podConfigs: d.config.podConfigs,
        ...(rec.agentSha ? { agentConfigMap: agentConfigMapName(req.cluster, req.clusterUid) } : {}),
      }),
    );
  }
  const toCreate = pods.filter((p) => !existing.has(p.metadata!.name));
  if (rec.agentSha && d.agent && rec.agentSha === d.agent.sha) {
    // The bundle rides in a ConfigMap every pod mounts: no upload per pod over exec.
    await d.api.ensureConfigMap(
      d.namespace,
      buildAgentConfigMap({ cluster: req.cluster, uid: req.clusterUid, namespace: d.namespace, bundle: d.agent.bundle, sha: d.agent.sha, labels: meta.labels }),
    );
  }
  d.progress(`creating ${toCreate.length} pod(s) in context ${context}, namespace ${d.namespace} (image ${image})`);
  await Promise.all(toCreate.map((p) => d.api.createPod(d.namespace, p).catch((err) => Promise.reject(createError(err, context)))));
  d.snapshots.invalidate(context);
  if (ports.length && portsMode !== 'podip') {
    const have = await d.api.listServices(d.namespace, selector(req.cluster, req.clusterUid));
    if (!have.length) {
      await d.api.createService(
        d.namespace,
        buildService({
          cluster: req.cluster,
          uid: req.clusterUid,
          namespace: d.namespace,
          ports,
          type: portsMode === 'loadbalancer' ? 'LoadBalancer' : 'NodePort',
          labels: meta.labels,
          annotations: meta.annotations,
        }),
      );
    }
  }
  const running = await waitRunning(d, req, (d.config.provisionTimeoutSeconds ?? DEFAULT_PROVISION_TIMEOUT_S) * 1000);
  // Every pod runs the same image as the same user: one pod's $HOME is every pod's.
  const home = previous?.pods[0]?.home ?? (await podHome(d, running.find((p) => p.metadata?.labels?.[LABEL_RANK] === '0')?.metadata?.name ?? running[0]!.metadata!.name!));
  rec.pods = running.map((p): PodRecord => {
    const name = p.metadata!.name!;
    const rank = Number(p.metadata?.labels?.[LABEL_RANK] ?? 0);
    return { rank, pod: name, ip: p.status?.podIP ?? '', home, node: p.spec?.nodeName };
  });
  rec.pods.sort((a, b) => a.rank - b.rank);
  d.saveRecord(rec);
  return rec;
}

function createError(err: unknown, context: string): Error {
  const status = (err as { status?: number }).status;
  const msg = errorMessage(err);
  if (status === 403 && /quota/i.test(msg)) return new ProvisionError(msg, 'quota');
  if (status === 401 || status === 403) return new ProvisionError(msg, 'credentials');
  if (status === 422 || status === 400) return new UserError(`the API server of context ${context} refused the pod: ${msg.replace(/^context \S+: /, '')}`);
  return err as Error;
}

/** The image user's $HOME in the pod (the node's home: ~/sky_workdir is there, as with SkyPilot). */
async function podHome(d: ProvisionDeps, pod: string): Promise<string> {
  const t = new KubernetesTransport({ context: d.ctx.name, server: d.ctx.server, kc: d.ctx.kc, namespace: d.namespace, pod, container: MAIN_CONTAINER, home: '/' });
  const r = await t.exec('h="${HOME:-/}"; if [ "$h" = / ] || ! { mkdir -p "$h" && [ -w "$h" ]; }; then h=/aloft/home; mkdir -p "$h"; fi; printf %s "$h"', { timeoutMs: 60_000 });
  if (r.code !== 0 || !r.stdout.startsWith('/')) {
    throw new Error(`pod ${pod} runs but a command in it failed (${(r.stderr || r.stdout).trim().split('\n').pop() || `exit code ${r.code}`}); the image needs bash`);
  }
  return r.stdout.trim();
}

/**
 * Waits until every pod of the cluster runs. Watches the pods (a list every second backs the watch
 * up), and decides from their status as it changes.
 */
async function waitRunning(d: ProvisionDeps, req: ProvisionRequest, unschedulableMs: number): Promise<V1Pod[]> {
  const sel = selector(req.cluster, req.clusterUid);
  const latest = new Map<string, V1Pod>();
  const pendingSince = new Map<string, number>();
  const said = new Map<string, string>();
  const started = Date.now();
  return new Promise<V1Pod[]>((resolve, reject) => {
    let finished = false;
    let stopWatch: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: Error, pods?: V1Pod[]) => {
      if (finished) return;
      finished = true;
      if (timer) clearInterval(timer);
      stopWatch?.();
      if (err) reject(err);
      else resolve(pods!);
    };
    const evaluate = async () => {
      if (finished) return;
      const now = Date.now();
      const pods = [...latest.values()];
      let allRunning = pods.length >= req.numNodes;
      for (const p of pods) {
        const name = p.metadata!.name!;
        const st = podState(p);
        if (st.kind === 'image') {
          const why = st.message ? `: ${st.message.split('\n')[0]}` : '';
          return finish(new ProvisionError(`image '${st.image}' cannot be pulled in context ${d.ctx.name} (${st.reason}${why})`, 'other'));
        }
        if (st.kind === 'failed') return finish(new ProvisionError(st.message, 'other'));
        if (st.kind === 'deleting') return finish(new ProvisionError(`pod ${name} was deleted while starting`, 'capacity'));
        if (st.kind !== 'running') allRunning = false;
        if (st.kind === 'unschedulable') {
          const since = pendingSince.get(name) ?? now;
          pendingSince.set(name, since);
          if (now - since >= unschedulableMs) {
            const msg = await schedulerMessage(d, name, st.message);
            return finish(new ProvisionError(`context ${d.ctx.name}: pod ${name} stayed Pending for ${Math.round((now - since) / 1000)}s: ${msg}`, 'capacity'));
          }
        }
        const line = st.kind === 'running' ? 'running' : st.kind === 'unschedulable' ? `Pending: ${st.message}` : st.kind === 'pending' ? st.message : '';
        if (line && said.get(name) !== line) {
          said.set(name, line);
          d.progress(`pod ${name}: ${line}`);
        }
      }
      if (allRunning) return finish(undefined, pods);
      if (now - started > START_TIMEOUT_MS) finish(new ProvisionError(`pods of ${req.cluster} did not start within ${START_TIMEOUT_MS / 60_000} minutes`, 'other'));
    };
    const refresh = async () => {
      try {
        const list = await d.api.listPods(d.namespace, sel);
        latest.clear();
        for (const p of list) latest.set(p.metadata!.name!, p);
        for (let rank = 0; rank < req.numNodes; rank++) {
          const n = podName(req.cluster, req.clusterUid, rank);
          if (!latest.has(n)) return finish(new ProvisionError(`pod ${n} disappeared while starting`, 'capacity'));
        }
        await evaluate();
      } catch (err) {
        finish(err as Error);
      }
    };
    d.api
      .watchPods(
        d.namespace,
        sel,
        (type, pod) => {
          if (type === 'DELETED') return void refresh();
          if (pod?.metadata?.name) latest.set(pod.metadata.name, pod);
          void evaluate();
        },
        () => undefined,
      )
      .then((stop) => {
        if (finished) stop();
        else stopWatch = stop;
      })
      .catch(() => undefined);
    timer = setInterval(() => void refresh(), 1000);
    void refresh();
  });
}

/** The scheduler's latest FailedScheduling message for a pod (its condition's when there is no event). */
async function schedulerMessage(d: ProvisionDeps, pod: string, fallback: string): Promise<string> {
  try {
    const events = await d.api.eventsFor(d.namespace, pod);
    const last = events.filter((e) => e.reason === 'FailedScheduling').pop();
    if (last?.message) return last.message.trim();
  } catch {
    /* the condition says it too */
  }
  return fallback;
}
