// The objects aloft creates in a namespace: one pod per node (head and workers) and a Service for
// a cluster's ports. Pure builders, so what reaches the API server is tested without one.
//
// A pod runs the user's image untouched. aloft's agent needs Node.js >= 20, which user images
// (vllm, pytorch, rocm) do not have, so an init container from a small official Node image copies
// its `node` binary into an emptyDir shared with the main container; the agent bundle itself is
// uploaded over exec afterwards (a tar-free `cat`, checked by sha256), see docs/ARCHITECTURE.md.
import type { V1Affinity, V1ConfigMap, V1Container, V1Pod, V1Service, V1Toleration } from '@kubernetes/client-node';
import { gpuTolerations, GPU_LABEL_KEYS, type GpuPlacement } from './gpu-labels.js';

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'aloft';
export const LABEL_CLUSTER = 'aloft.dev/cluster';
export const LABEL_UID = 'aloft.dev/cluster-uid';
export const LABEL_RANK = 'aloft.dev/rank';
export const LABEL_ROLE = 'aloft.dev/role';

/** The main container's name (exec and logs target it). */
export const MAIN_CONTAINER = 'aloft';
/** The emptyDir shared by the init container and the main container. */
export const RUNTIME_MOUNT = '/aloft';
export const NODE_BIN = `${RUNTIME_MOUNT}/bin/node`;
export const AGENT_DIR_IN_POD = `${RUNTIME_MOUNT}/agent`;
/** Where the cluster's agent ConfigMap is mounted: the bundle is there when the pod starts. */
export const BUNDLE_MOUNT = '/aloft-bundle';
export const BUNDLE_KEY = 'agent.cjs';

/** Image of tasks that name none: Debian, like the Node image the runtime comes from, with Python. */
export const DEFAULT_IMAGE = 'python:3.11-slim-bookworm';
/** The official Node.js image whose `node` binary the init container copies. */
export const DEFAULT_RUNTIME_IMAGE = 'node:20-bookworm-slim';

/** Selects every object of aloft's in a namespace, or one cluster's. */
export function selector(cluster?: string, uid?: string): string {
  const parts = [`${LABEL_MANAGED_BY}=${MANAGED_BY}`];
  if (cluster) parts.push(`${LABEL_CLUSTER}=${cluster}`);
  if (uid) parts.push(`${LABEL_UID}=${uid}`);
  return parts.join(',');
}

/** SkyPilot's naming: CLUSTER-UID-head, CLUSTER-UID-worker1, ... (cluster names are DNS labels already). */
export function podName(cluster: string, uid: string, rank: number): string {
  return `${cluster}-${uid}-${rank === 0 ? 'head' : `worker${rank}`}`;
}

export function agentConfigMapName(cluster: string, uid: string): string {
  return `${cluster}-${uid}-agent`;
}

/** The agent bundle as a ConfigMap of the cluster (mounted into its pods; deleted with it). */
export function buildAgentConfigMap(i: { cluster: string; uid: string; namespace: string; bundle: string; sha: string; labels?: Record<string, string> }): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: agentConfigMapName(i.cluster, i.uid),
      namespace: i.namespace,
      labels: { ...i.labels, [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_CLUSTER]: i.cluster, [LABEL_UID]: i.uid },
      annotations: { 'aloft.dev/agent-sha256': i.sha },
    },
    data: { [BUNDLE_KEY]: i.bundle },
  };
}

export function serviceName(cluster: string, uid: string): string {
  return `${cluster}-${uid}-ports`;
}

/** The image a task runs in on kubernetes: `docker:IMAGE` or a bare image name, per context when a mapping. */
export function taskImage(imageId: string | Record<string, string> | undefined, context: string, fallback: string): string {
  let id: string | undefined;
  if (typeof imageId === 'string') id = imageId;
  else if (imageId) id = imageId[context] ?? Object.values(imageId)[0];
  if (!id) return fallback;
  const s = id.trim();
  return s.toLowerCase().startsWith('docker:') ? s.slice('docker:'.length) : s;
}

export interface PodInput {
  cluster: string;
  uid: string;
  rank: number;
  namespace: string;
  image: string;
  runtimeImage: string;
  cpus: number;
  memoryGiB: number;
  gpus: number;
  /** where GPUs come from (set when gpus > 0) */
  gpu?: GpuPlacement;
  /** container ports (for `ports:`; informational for podip) */
  ports?: number[];
  /** the task's `labels` plus custom_metadata labels */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** kubernetes.pod_config layers (global, context, task), merged in order over aloft's pod */
  podConfigs?: Array<Record<string, unknown>>;
  /** mount the cluster's agent ConfigMap (so the bundle needs no upload) */
  agentConfigMap?: string;
}

const KEEP_ALIVE = `trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done`;

function fmtNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 1000) / 1000);
}

export function buildPod(i: PodInput): V1Pod {
  const requests: Record<string, string> = { cpu: fmtNumber(i.cpus), memory: `${Math.ceil(i.memoryGiB * 1024)}Mi` };
  const limits: Record<string, string> = {};
  let tolerations: V1Toleration[] | undefined;
  let affinity: V1Affinity;
  if (i.gpus > 0) {
    if (!i.gpu) throw new Error('a GPU pod needs a GPU placement');
    // Extended resources are requested with equal requests and limits, as integers.
    requests[i.gpu.resourceKey] = String(i.gpus);
    limits[i.gpu.resourceKey] = String(i.gpus);
    tolerations = gpuTolerations(i.gpu.resourceKey);
    affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: i.gpu.terms.map((t) => ({
            matchExpressions: [{ key: t.key, operator: 'In', values: t.values.map((v) => String(v)) }],
          })),
        },
      },
    };
  } else {
    // CPU-only pods prefer nodes without a GPU label, so GPUs stay free for GPU work.
    affinity = {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, preference: { matchExpressions: GPU_LABEL_KEYS.map((key) => ({ key, operator: 'DoesNotExist' })) } },
        ],
      },
    };
  }
  const mounts = [
    { name: 'aloft-runtime', mountPath: RUNTIME_MOUNT },
    { name: 'dshm', mountPath: '/dev/shm' },
    ...(i.agentConfigMap ? [{ name: 'aloft-bundle', mountPath: BUNDLE_MOUNT, readOnly: true }] : []),
  ];
  const main: V1Container = {
    name: MAIN_CONTAINER,
    image: i.image,
    imagePullPolicy: 'IfNotPresent',
    command: ['/bin/sh', '-c', KEEP_ALIVE],
    resources: { requests, ...(Object.keys(limits).length ? { limits } : {}) },
    volumeMounts: mounts,
    ...(i.ports?.length ? { ports: i.ports.map((p) => ({ containerPort: p, protocol: 'TCP' })) } : {}),
  };
  const init: V1Container = {
    name: 'aloft-runtime',
    image: i.runtimeImage,
    imagePullPolicy: 'IfNotPresent',
    command: ["sh", "-c", `set -e; mkdir -p ${RUNTIME_MOUNT}/bin; n="$(command -v node)"; cp --reflink=auto "$n" ${NODE_BIN} 2>/dev/null || cp "$n" ${NODE_BIN}; ${NODE_BIN} --version`],
    resources: { requests: { cpu: '10m', memory: '32Mi' } },
    volumeMounts: [{ name: 'aloft-runtime', mountPath: RUNTIME_MOUNT }],
  };
  const pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName(i.cluster, i.uid, i.rank),
      namespace: i.namespace,
      labels: {
        ...i.labels,
        [LABEL_MANAGED_BY]: MANAGED_BY,
        [LABEL_CLUSTER]: i.cluster,
        [LABEL_UID]: i.uid,
        [LABEL_RANK]: String(i.rank),
        [LABEL_ROLE]: i.rank === 0 ? 'head' : 'worker',
      },
      ...(i.annotations && Object.keys(i.annotations).length ? { annotations: { ...i.annotations } } : {}),
    },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 10,
      // Service environment variables of a busy namespace would land in every job.
      enableServiceLinks: false,
      initContainers: [init],
      containers: [main],
      volumes: [
        { name: 'aloft-runtime', emptyDir: {} },
        { name: 'dshm', emptyDir: { medium: 'Memory' } },
        ...(i.agentConfigMap ? [{ name: 'aloft-bundle', configMap: { name: i.agentConfigMap } }] : []),
      ],
      affinity,
      ...(tolerations ? { tolerations } : {}),
    },
  };
  let out = pod as unknown as Record<string, unknown>;
  for (const layer of i.podConfigs ?? []) out = mergePodConfig(out, layer);
  // aloft's own labels win over a pod_config that sets the same keys: they are how pods are found.
  const meta = (out.metadata ?? {}) as { labels?: Record<string, string> };
  meta.labels = { ...meta.labels, ...pod.metadata!.labels };
  return out as V1Pod;
}

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const named = (v: Json): v is { name: string } => isObject(v) && typeof v.name === 'string';

/** Lists pod_config adds to rather than replaces (no names to merge by). */
const APPENDED = new Set(['tolerations', 'topologySpreadConstraints', 'imagePullSecrets', 'hostAliases', 'matchExpressions']);

/**
 * pod_config over aloft's pod: mappings merge key by key (pod_config wins); the first entry of
 * `spec.containers` merges into aloft's container (others are added as sidecars); lists of named
 * items (volumes, volumeMounts, env, ports, initContainers) merge by name; tolerations and similar
 * are added to; a required node affinity from pod_config narrows aloft's (each of our terms gets
 * its expressions); any other list is replaced.
 */
export function mergePodConfig(base: Record<string, Json>, over: Record<string, Json>, path: string[] = []): Record<string, Json> {
  const out: Record<string, Json> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const cur = out[k];
    const here = [...path, k];
    if (isObject(cur) && isObject(v)) out[k] = mergePodConfig(cur, v, here);
    else if (Array.isArray(cur) && Array.isArray(v)) out[k] = mergeList(cur, v, here);
    else out[k] = clone(v);
  }
  return out;
}

function mergeList(base: Json[], over: Json[], path: string[]): Json[] {
  const key = path[path.length - 1]!;
  if (key === 'containers' && path.length === 2 && path[0] === 'spec') {
    const [first, ...rest] = over;
    const merged = isObject(base[0]) && isObject(first) ? [mergePodConfig(base[0], { ...first, name: base[0].name }, [...path, '0'])] : base.slice(0, 1);
    return [...merged, ...base.slice(1), ...rest.map(clone)];
  }
  if (key === 'nodeSelectorTerms') {
    // Terms are ORed: adding the user's would widen where GPU pods may go. AND them instead.
    const out: Json[] = [];
    for (const b of base) {
      for (const o of over) {
        const be = (isObject(b) && Array.isArray(b.matchExpressions) ? b.matchExpressions : []) as Json[];
        const oe = (isObject(o) && Array.isArray(o.matchExpressions) ? o.matchExpressions : []) as Json[];
        out.push({ ...(isObject(o) ? clone(o) as object : {}), ...(isObject(b) ? b : {}), matchExpressions: [...be, ...oe.map(clone)] });
      }
    }
    return out.length ? out : over.map(clone);
  }
  if (base.every(named) && over.every(named) && base.length && over.length) {
    const out: Json[] = base.slice();
    for (const o of over as Array<Record<string, Json> & { name: string }>) {
      const i = out.findIndex((b) => (b as { name: string }).name === o.name);
      if (i >= 0) out[i] = mergePodConfig(out[i] as Record<string, Json>, o, [...path, String(i)]);
      else out.push(clone(o));
    }
    return out;
  }
  if (APPENDED.has(key)) {
    const seen = new Set(base.map((b) => JSON.stringify(b)));
    return [...base, ...over.filter((o) => !seen.has(JSON.stringify(o))).map(clone)];
  }
  return over.map(clone);
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

export { expandPorts } from '../../util/ports.js';

export interface ServiceInput {
  cluster: string;
  uid: string;
  namespace: string;
  ports: number[];
  type: 'NodePort' | 'LoadBalancer';
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The Service that exposes a cluster's `ports:` on its head pod. */
export function buildService(i: ServiceInput): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: serviceName(i.cluster, i.uid),
      namespace: i.namespace,
      labels: { ...i.labels, [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_CLUSTER]: i.cluster, [LABEL_UID]: i.uid },
      ...(i.annotations && Object.keys(i.annotations).length ? { annotations: { ...i.annotations } } : {}),
    },
    spec: {
      type: i.type,
      selector: { [LABEL_UID]: i.uid, [LABEL_RANK]: '0' },
      ports: i.ports.map((p) => ({ name: `port-${p}`, port: p, targetPort: p, protocol: 'TCP' })),
    },
  };
}
