// Kubernetes: a cluster is one pod per node in one context's namespace (SkyPilot's
// CLUSTER-UID-head / -workerN), found again by its labels. Contexts are regions: planning sees
// each allowed context's free capacity, and the failover order walks them in allowed_contexts
// order. Pods have no stopped state, so stop is refused and autostop means autodown.
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeResources } from '../../protocol/model.js';
import type { NodeTarget } from '../../protocol/api.js';
import { loadConfig } from '../../spec/config.js';
import { effectiveKubernetesConfig, parseTaskKubernetesConfig, type KubernetesConfig } from '../../spec/kubernetes-config.js';
import { errorMessage, UserError } from '../../util/errors.js';
import { agentBundlePath, aloftHome, homePaths } from '../../util/paths.js';
import { agentKnobs } from '../../util/env.js';
import { withTimeout } from '../../util/timeout.js';
import { bundleHash } from '../ssh/remote.js';
import {
  ProvisionError,
  type ClusterInfo,
  type LiveOffering,
  type NodeInfo,
  type Provider,
  type ProviderCapabilities,
  type ProvisionRequest,
  type Transport,
} from '../types.js';
import { KubeApi } from './api.js';
import { contextOffering } from './capacity.js';
import { loadKubeconfig, namespaceFor, requireContext, usableContexts, type KubeContext, type Kubeconfig } from './kubeconfig.js';
import { LossWatcher, type LossListener } from './loss-watch.js';
import { AGENT_DIR_IN_POD, BUNDLE_KEY, BUNDLE_MOUNT, LABEL_RANK, MAIN_CONTAINER, NODE_BIN, selector } from './pod-spec.js';
import { createCluster } from './provision.js';
import { ClusterRecords, type KubeClusterRecord } from './records.js';
import { SnapshotCache } from './snapshot.js';
import { KubernetesTransport } from './transport.js';
import { endpointsOf } from './endpoints.js';

/** How long a context that failed to answer is reported as failed without waiting on it again. */
const FAILURE_TTL_MS = 30_000;

export interface KubernetesProviderOptions {
  home?: string;
  env?: NodeJS.ProcessEnv;
}

export class KubernetesProvider implements Provider {
  readonly name = 'kubernetes';
  readonly capabilities: ProviderCapabilities = {
    stop: false,
    spot: false,
    multiNode: true,
    openPorts: true,
    preemptible: false,
    sessions: true,
  };
  /** the runtime's node, copied in by the init container (never the image's own interpreter) */
  readonly nodeBinary = NODE_BIN;
  readonly home: string;
  readonly records: ClusterRecords;
  private readonly snapshots = new SnapshotCache();
  private apis = new Map<string, { ctx: KubeContext; api: KubeApi }>();
  private readonly loss: LossWatcher;
  private agentUploads = new Map<string, Promise<string>>();
  private bundle?: { bundle: string; sha: string };
  private failures = new Map<string, { at: number; message: string }>();

  constructor(private readonly opts: KubernetesProviderOptions = {}) {
    this.home = opts.home ?? aloftHome();
    this.records = new ClusterRecords(join(this.home, 'kubernetes', 'clusters.json'));
    this.loss = new LossWatcher(() => {
      const m = new Map<string, { cluster: string; pods: string[]; context: string; namespace: string }>();
      for (const r of this.records.list()) {
        if (r.pods.length) m.set(r.uid, { cluster: r.cluster, pods: r.pods.map((p) => p.pod), context: r.context, namespace: r.namespace });
      }
      return m;
    });
  }

  // ---- configuration ----

  kubeconfig(): Kubeconfig {
    return loadKubeconfig(this.opts.env ?? process.env);
  }

  config(): KubernetesConfig | undefined {
    return loadConfig(homePaths(this.home).config).kubernetes;
  }

  api(context: string): KubeApi {
    const ctx = requireContext(this.kubeconfig(), context);
    const hit = this.apis.get(context);
    if (hit && hit.ctx === ctx) return hit.api;
    const api = new KubeApi(ctx);
    this.apis.set(context, { ctx, api });
    return api;
  }

  contexts(): { contexts: string[]; missing: string[] } {
    return usableContexts(this.kubeconfig(), this.config());
  }

  namespaceOf(context: string, task?: KubernetesConfig): string {
    return namespaceFor(this.kubeconfig().contexts.get(context), effectiveKubernetesConfig(this.config(), context, task));
  }

  // ---- planning ----

  async check(): Promise<{ ok: boolean; reason?: string }> {
    try {
      const k = this.kubeconfig();
      if (!k.contexts.size) return { ok: false, reason: k.files.length ? `kubeconfig ${k.files.join(':')} has no contexts` : 'no kubeconfig (set KUBECONFIG or create ~/.kube/config)' };
      const { contexts, missing } = this.contexts();
      if (!contexts.length) return { ok: false, reason: missing.length ? `allowed_contexts ${missing.join(', ')} not in the kubeconfig` : 'no current context in the kubeconfig' };
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: errorMessage(err) };
    }
  }

  /** Per usable context: its free capacity as one offering, or why it offers nothing. Bounded in time. */
  async liveOfferingsWithProblems(
    opts: { named?: string[]; maxAgeMs?: number; timeoutMs?: number } = {},
  ): Promise<{ offerings: LiveOffering[]; problems: Map<string, string[]> }> {
    const offerings: LiveOffering[] = [];
    const problems = new Map<string, string[]>();
    let contexts: string[];
    try {
      const u = this.contexts();
      const k = this.kubeconfig();
      // A context the task names is offered even when it is not the current/allowed one.
      const named = (opts.named ?? []).filter((c) => !u.contexts.includes(c));
      contexts = [...u.contexts, ...named.filter((c) => k.contexts.has(c))];
      for (const m of [...u.missing, ...named.filter((c) => !k.contexts.has(c))]) {
        problems.set(m, [`context '${m}' is not in the kubeconfig (${k.files.join(':') || 'none found'}; contexts: ${[...k.contexts.keys()].join(', ') || 'none'})`]);
      }
    } catch (err) {
      problems.set('*', [errorMessage(err)]);
      return { offerings, problems };
    }
    await Promise.all(
      contexts.map(async (context) => {
        // A context that just failed (an API server that is down or unreachable) is not waited
        // for again on every plan: its failure stands for a while, re-checked in the background.
        const failed = this.failures.get(context);
        const fresh = failed && Date.now() - failed.at < FAILURE_TTL_MS;
        const work = (async () => {
          const api = this.api(context);
          return withTimeout(this.snapshots.get(api, this.namespaceOf(context), opts.maxAgeMs ?? 3000), opts.timeoutMs ?? 4000, `context ${context}: the API server did not answer in time`);
        })();
        work.then(
          () => this.failures.delete(context),
          (err: unknown) => this.failures.set(context, { at: Date.now(), message: errorMessage(err) }),
        );
        if (fresh) {
          problems.set(context, [failed.message]);
          return;
        }
        try {
          const snap = await work;
          const o = contextOffering(context, snap.usage);
          if (o) offerings.push(o);
          else problems.set(context, [`context ${context} has no Ready, schedulable node`]);
        } catch (err) {
          problems.set(context, [errorMessage(err)]);
        }
      }),
    );
    return { offerings, problems };
  }

  async liveOfferings(): Promise<LiveOffering[]> {
    return (await this.liveOfferingsWithProblems()).offerings;
  }

  targetOrder(): string[] {
    return this.contexts().contexts;
  }

  async poolProblems(context: string): Promise<string | undefined> {
    const p = (await this.liveOfferingsWithProblems()).problems.get(context);
    return p?.length ? p.join('; ') : undefined;
  }

  // ---- lifecycle ----

  async runInstances(req: ProvisionRequest): Promise<ClusterInfo> {
    const k = this.kubeconfig();
    let existing = this.records.get(req.cluster);
    if (existing && existing.uid !== req.clusterUid) {
      await this.deleteCluster(existing);
      existing = undefined;
    }
    // The same cluster again (`aloft start` after a lost pod): its context, namespace and settings.
    const context = existing?.context ?? req.region ?? k.current;
    if (!context) throw new UserError('kubernetes: the kubeconfig has no current context; name one with --infra k8s/CONTEXT');
    const ctx = requireContext(k, context);
    const taskCfg = existing ? existing.taskConfig : parseTaskKubernetesConfig((req.config as { kubernetes?: unknown } | undefined)?.kubernetes);
    const eff = effectiveKubernetesConfig(this.config(), context, taskCfg);
    const namespace = existing?.namespace ?? namespaceFor(ctx, eff);
    const api = this.api(context);
    try {
      const rec = await createCluster(
        req,
        {
          api,
          ctx,
          namespace,
          config: eff,
          ...(taskCfg ? { taskConfig: taskCfg } : {}),
          snapshots: this.snapshots,
          agent: this.agentBundle(),
          saveRecord: (r) => this.records.put(r),
          progress: (m) => req.onProgress?.(m),
        },
        existing,
      );
      this.loss.forget(rec.uid);
      this.loss.sync((c) => this.api(c));
      return this.info(rec);
    } catch (err) {
      // Nothing of a failed attempt stays behind: the next context (or the user's retry) starts
      // clean. A failed repair keeps what survived (the user may want the pods' files).
      const rec = this.records.get(req.cluster);
      if (rec && rec.uid === req.clusterUid && !existing) {
        await this.deleteCluster(rec).catch((e) => req.onProgress?.(`cleanup in context ${context} failed: ${errorMessage(e)}`));
      }
      if (err instanceof ProvisionError || err instanceof UserError) throw err;
      const msg = errorMessage(err);
      // Unreachable API servers and refused credentials are the context's problem: try the next one.
      if (/cannot reach the API server|unauthorized/i.test(msg)) throw new ProvisionError(msg, /unauthorized/i.test(msg) ? 'credentials' : 'capacity');
      throw err;
    }
  }

  private info(rec: KubeClusterRecord, status: NodeInfo['status'] = 'running'): ClusterInfo {
    return {
      cluster: rec.cluster,
      region: rec.context,
      nodes: rec.pods.map((p) => ({ rank: p.rank, ip: p.ip, home: p.home, instanceId: p.pod, status })),
    };
  }

  async waitInstances(cluster: string, state: 'running' | 'stopped' | 'terminated'): Promise<void> {
    if (state === 'stopped') throw new UserError('kubernetes pods cannot be stopped');
    const info = await this.queryInstances(cluster);
    const now = info ? (info.nodes.every((n) => n.status === 'running') ? 'running' : 'pending') : 'terminated';
    if (now !== state) throw new Error(`kubernetes cluster ${cluster} is ${now}, not ${state}`);
  }

  /** The cluster's pods as they are now (status -r, managed jobs' deep look). */
  async queryInstances(cluster: string): Promise<ClusterInfo | undefined> {
    const rec = this.records.get(cluster);
    if (!rec) return undefined;
    const pods = await this.api(rec.context).listPods(rec.namespace, selector(rec.cluster, rec.uid));
    const byName = new Map(pods.map((p) => [p.metadata?.name, p]));
    const nodes: NodeInfo[] = [];
    for (let rank = 0; rank < rec.numNodes; rank++) {
      const known = rec.pods.find((p) => p.rank === rank);
      const p = [...byName.values()].find((x) => Number(x.metadata?.labels?.[LABEL_RANK]) === rank);
      const phase = p?.status?.phase;
      const status: NodeInfo['status'] =
        !p || p.metadata?.deletionTimestamp || phase === 'Failed' || phase === 'Succeeded' ? 'terminated' : phase === 'Running' ? 'running' : 'pending';
      nodes.push({ rank, ip: p?.status?.podIP ?? known?.ip ?? '', home: known?.home ?? '/root', instanceId: p?.metadata?.name ?? known?.pod ?? '', status });
    }
    return { cluster, region: rec.context, nodes };
  }

  async getClusterInfo(cluster: string): Promise<ClusterInfo> {
    const rec = this.records.get(cluster);
    if (!rec) throw new UserError(`kubernetes cluster '${cluster}' has no pods on record`);
    return this.info(rec);
  }

  /** Kubernetes has no stopped pods; `aloft start` repairs a broken cluster by ending what runs in its pods first. */
  async stopInstances(cluster: string): Promise<void> {
    const rec = this.records.get(cluster);
    if (!rec) return;
    const info = await this.queryInstances(cluster);
    await Promise.all(
      (info?.nodes ?? [])
        .filter((n) => n.status === 'running')
        .map((n) => {
          const pr = rec.pods.find((p) => p.rank === n.rank);
          return this.transport(cluster, { ...n, home: pr?.home ?? n.home })
            .exec(KILL_NODE_PROCESSES, { timeoutMs: 30_000 })
            .catch(() => undefined);
        }),
    );
  }

  async terminateInstances(cluster: string): Promise<void> {
    const rec = this.records.get(cluster);
    if (rec) {
      await this.deleteCluster(rec);
      return;
    }
    // No record (it was lost): find the cluster's objects by label where clusters of this config live.
    for (const context of this.contexts().contexts) {
      const api = this.api(context);
      const namespace = this.namespaceOf(context);
      const pods = await api.listPods(namespace, selector(cluster)).catch(() => []);
      const uids = new Set(pods.map((p) => p.metadata?.labels?.['aloft.dev/cluster-uid']).filter((u): u is string => Boolean(u)));
      for (const uid of uids) await this.deleteObjects(api, namespace, cluster, uid);
    }
  }

  async forgetInstances(cluster: string): Promise<void> {
    this.records.remove(cluster);
  }

  /** Deletes pods, services and secrets of one cluster incarnation and waits until they are gone. */
  private async deleteCluster(rec: KubeClusterRecord): Promise<void> {
    this.loss.leavingCluster(rec.uid, true);
    try {
      await this.deleteObjects(this.api(rec.context), rec.namespace, rec.cluster, rec.uid);
      this.records.remove(rec.cluster, rec.uid);
      this.loss.sync((c) => this.api(c));
    } finally {
      this.loss.leavingCluster(rec.uid, false);
    }
  }

  private async deleteObjects(api: KubeApi, namespace: string, cluster: string, uid: string): Promise<void> {
    const sel = selector(cluster, uid);
    const services = await api.listServices(namespace, sel);
    await Promise.all([
      api.deletePods(namespace, sel),
      api.deleteSecrets(namespace, sel),
      api.deleteConfigMaps(namespace, sel),
      ...services.map((s) => api.deleteService(namespace, s.metadata!.name!)),
    ]);
    this.snapshots.invalidate(api.name);
    const deadline = Date.now() + 120_000;
    for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
      const left = await api.listPods(namespace, sel);
      if (!left.length) return;
      if (Date.now() > deadline) throw new Error(`context ${api.name}: pods of ${cluster} still exist after 2 minutes: ${left.map((p) => p.metadata?.name).join(', ')}`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  // ---- nodes ----

  private record(cluster: string): KubeClusterRecord {
    const rec = this.records.get(cluster);
    if (!rec) throw new UserError(`kubernetes cluster '${cluster}' has no pods on record`);
    return rec;
  }

  transport(cluster: string, node: NodeInfo): Transport {
    const rec = this.record(cluster);
    const ctx = requireContext(this.kubeconfig(), rec.context);
    return new KubernetesTransport({
      context: rec.context,
      server: ctx.server,
      kc: ctx.kc,
      namespace: rec.namespace,
      pod: node.instanceId,
      container: MAIN_CONTAINER,
      home: node.home,
      // The agent's knobs (autostop clock, version override) reach it as they do a local agent.
      env: { ...agentKnobs(process.env), ALOFT_NODE_DIR: node.home },
    });
  }

  /** What the pod was given (its requests), not what the machine under it has. */
  async detectResources(_t: Transport, node: NodeInfo): Promise<NodeResources> {
    const rec = this.records.list().find((r) => r.pods.some((p) => p.pod === node.instanceId));
    const s = rec?.shape;
    if (!s) return { cpus: 0, memoryGiB: 0, accelerators: {} };
    return { cpus: s.cpus, memoryGiB: s.memoryGiB, accelerators: s.gpus > 0 && s.accelerator ? { [s.accelerator]: s.gpus } : {} };
  }

  /** This daemon's agent bundle, read once per build (it ships in each cluster's ConfigMap). */
  private agentBundle(): { bundle: string; sha: string } | undefined {
    try {
      const path = agentBundlePath();
      const sha = bundleHash(path);
      if (this.bundle?.sha !== sha) this.bundle = { sha, bundle: readFileSync(path, 'utf8') };
      return this.bundle;
    } catch {
      return undefined; // no bundle here (tests of the provider alone): uploaded over exec instead
    }
  }

  /**
   * The agent bundle in the pod: the cluster's ConfigMap mount when it holds this bundle (no
   * round trip), else written to /aloft/agent/agent-<sha>.cjs over exec (a daemon upgraded since
   * the cluster was made).
   */
  async ensureAgent(t: Transport, node: NodeInfo, localBundle: string): Promise<string> {
    const sha = bundleHash(localBundle);
    const rec = this.records.list().find((r) => r.pods.some((p) => p.pod === node.instanceId));
    if (rec?.agentSha === sha) return `${BUNDLE_MOUNT}/${BUNDLE_KEY}`;
    const dest = `${AGENT_DIR_IN_POD}/agent-${sha.slice(0, 16)}.cjs`;
    const key = `${node.instanceId}\0${sha}`;
    let p = this.agentUploads.get(key);
    if (!p) {
      p = (async () => {
        const r = await t.exec(
          `if [ "$(sha256sum ${dest} 2>/dev/null | cut -d' ' -f1)" = ${sha} ]; then cat >/dev/null; exit 0; fi; ` +
            `mkdir -p ${AGENT_DIR_IN_POD} && tmp=${dest}.$$.tmp && cat > "$tmp" && [ "$(sha256sum "$tmp" | cut -d' ' -f1)" = ${sha} ] && mv -f "$tmp" ${dest} || { rm -f "$tmp"; exit 1; }`,
          { stdin: createReadStream(localBundle), timeoutMs: 300_000 },
        );
        if (r.code !== 0) throw new Error(`uploading the agent to pod ${node.instanceId} failed: ${r.stderr.trim().split('\n').pop() || `exit code ${r.code}`}`);
        return dest;
      })();
      const done = () => this.agentUploads.delete(key);
      p.then(done, done);
      this.agentUploads.set(key, p);
    }
    return p;
  }

  /** What `aloft ssh` opens: a shell in the pod through the exec API (a TTY), from the CLI. */
  sessionTarget(cluster: string, node: NodeInfo): NodeTarget {
    const rec = this.record(cluster);
    const k = this.kubeconfig();
    return {
      kind: 'kubernetes',
      context: rec.context,
      namespace: rec.namespace,
      pod: node.instanceId,
      container: MAIN_CONTAINER,
      kubeconfig: k.files,
      home: node.home,
      env: { ALOFT_NODE_DIR: node.home, SKYPILOT_NODE_RANK: String(node.rank) },
    };
  }

  async endpoints(cluster: string): Promise<Record<number, string>> {
    const rec = this.record(cluster);
    return endpointsOf(this.api(rec.context), rec);
  }

  /** Lost pods of running clusters (deleted, evicted, exited) are reported to `listener`. */
  onNodeLost(listener: LossListener): void {
    this.loss.onLoss(listener);
    this.loss.sync((c) => this.api(c));
  }

  close(): void {
    this.loss.close();
  }
}

// Ends the agent and every job in the pod: the processes that carry the node's ALOFT_NODE_DIR
// (the agent sets it, jobs inherit it). The container's own processes do not, and are spared.
const KILL_NODE_PROCESSES = [
  'self=$$; parent=$PPID',
  'for d in /proc/[0-9]*; do',
  '  p=${d#/proc/}',
  '  if [ "$p" = "$self" ] || [ "$p" = "$parent" ]; then continue; fi',
  '  hit=',
  "  while IFS= read -r -d '' kv; do case \"$kv\" in ALOFT_NODE_DIR=*) hit=1; break;; esac; done < \"$d/environ\" 2>/dev/null",
  '  if [ -n "$hit" ]; then kill -KILL "$p" 2>/dev/null; fi',
  'done',
  'true',
].join('\n');
