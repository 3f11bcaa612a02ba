// What `aloft check` and `aloft gpus list --infra kubernetes` show: per context, whether aloft
// may use it and reaches it, its namespace, the GPU vendors and types on its nodes, and per node
// GPU type, vendor, total and free (like `sky show-gpus --infra k8s`).
import { loadConfig } from '../../spec/config.js';
import { effectiveKubernetesConfig } from '../../spec/kubernetes-config.js';
import { errorMessage } from '../../util/errors.js';
import { homePaths } from '../../util/paths.js';
import { withTimeout } from '../../util/timeout.js';
import { KubeApi } from './api.js';
import { gpuNodeRows, gpuSummary, type GpuNodeRow, type GpuSummaryRow, type NodeUsage } from './capacity.js';
import { loadKubeconfig, namespaceFor, usableContexts } from './kubeconfig.js';
import { SnapshotCache } from './snapshot.js';

export interface ContextReport {
  context: string;
  current: boolean;
  /** plans may use it (allowed_contexts, or the current context) */
  used: boolean;
  reachable: boolean;
  server: string;
  namespace: string;
  nodes: number;
  /** e.g. "nvidia (A100-80GB, L4), amd (MI300X)" or "none" */
  gpus: string;
  /** why not usable, or a caveat */
  reason?: string;
  summary: GpuSummaryRow[];
  rows: GpuNodeRow[];
}

export function vendorLine(usage: NodeUsage[]): string {
  const by = new Map<string, Set<string>>();
  for (const n of usage) {
    if (!n.gpu) continue;
    let s = by.get(n.gpu.vendor);
    if (!s) by.set(n.gpu.vendor, (s = new Set()));
    s.add(n.gpu.name ?? `unlabelled ${n.gpu.resourceKey}`);
  }
  if (!by.size) return 'none';
  return [...by].map(([v, names]) => `${v} (${[...names].sort().join(', ')})`).join(', ');
}

export async function inspectContexts(opts: { home: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; only?: string }): Promise<{ files: string[]; reports: ContextReport[] }> {
  const k = loadKubeconfig(opts.env ?? process.env);
  const cfg = loadConfig(homePaths(opts.home).config).kubernetes;
  const { contexts: used, missing } = usableContexts(k, cfg);
  const snapshots = new SnapshotCache();
  const names = [...k.contexts.keys()].filter((c) => !opts.only || c === opts.only);
  const reports = await Promise.all(
    names.map(async (name): Promise<ContextReport> => {
      const ctx = k.contexts.get(name)!;
      const namespace = namespaceFor(ctx, effectiveKubernetesConfig(cfg, name));
      const r: ContextReport = {
        context: name,
        current: k.current === name,
        used: used.includes(name),
        reachable: false,
        server: ctx.server,
        namespace,
        nodes: 0,
        gpus: '-',
        summary: [],
        rows: [],
      };
      if (!r.used && !opts.only) {
        r.reason = cfg?.allowedContexts ? 'not in kubernetes.allowed_contexts' : 'not the current context (list it in kubernetes.allowed_contexts to use it)';
        return r;
      }
      try {
        const snap = await withTimeout(snapshots.get(new KubeApi(ctx), namespace, 0), opts.timeoutMs ?? 8000, `the API server at ${ctx.server} did not answer in time`);
        r.reachable = true;
        r.nodes = snap.nodes.length;
        r.gpus = vendorLine(snap.usage);
        r.summary = gpuSummary(name, snap.usage);
        r.rows = gpuNodeRows(name, snap.usage);
        if (snap.partial) r.reason = snap.partial;
        else if (!snap.usage.some((n) => n.schedulable)) r.reason = 'no Ready, schedulable node';
      } catch (err) {
        r.reason = errorMessage(err).replace(new RegExp(`^context ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `), '');
      }
      return r;
    }),
  );
  for (const m of missing) {
    reports.push({ context: m, current: false, used: false, reachable: false, server: '-', namespace: '-', nodes: 0, gpus: '-', reason: 'in kubernetes.allowed_contexts but not in the kubeconfig', summary: [], rows: [] });
  }
  return { files: k.files, reports };
}
