// A Kubernetes API server fake honest enough for the real clients (kubectl 1.32,
// @kubernetes/client-node 1.4): plain http, discovery, REST + watch for namespaces, nodes, pods,
// services, endpoints, secrets, configmaps, serviceaccounts and events, server-side Tables for
// `kubectl get`, a scheduler with the real filters and FailedScheduling wording, and pods that
// run as REAL local processes (one PID/UTS namespace per pod, one mount namespace per container,
// see sandbox.ts) with exec (websocket v5/v4), logs, and port-forward. Needs root (namespaces).
// Pods share the host network: each has its own 127.x.y.z pod IP (anything listening on 0.0.0.0
// answers there too), so two pods cannot both listen on one port of 0.0.0.0 — bind to the pod IP
// (downward API status.podIP) where several pods of a test use the same port. NodePort and
// LoadBalancer Services are reachable (node InternalIP:nodePort, ingress IP:port). Pods reach the
// API at KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT (plain http). Unknown fields in a body
// are dropped with a Warning header and a line on stderr (refused under fieldValidation=Strict).
//
//   import { startFakeKube, writeKubeconfig } from '../fakes/kubernetes/index.js';
//   const kube = await startFakeKube({ fixture: 'mixed', namespace: 'team-a' });
//   // kube.kubeconfigPath: a kubeconfig with one context (kube.context), current, namespace set
//   execFileSync('kubectl', ['--kubeconfig', kube.kubeconfigPath, 'get', 'nodes']);
//   await kube.stop();                        // kills every pod process, removes its files
//
// Options (all optional):
//   fixture        'mixed' (default: NVIDIA A100 with GFD labels, AMD MI300X with the node
//                  labeller's amd.com/gpu.product-name, GKE L4, CPU; GPU nodes tainted
//                  nvidia.com/gpu / amd.com/gpu NoSchedule) | 'cpu' | 'tiny' | 'nvidia' | 'amd' |
//                  'big-gpu' (2× H100:8, 2× H200:8, 2× A100:8, MI300X:8, a 64-CPU node) |
//                  'large' (200 nodes) | 'empty'
//   nodes          NodeSpec[] instead of a fixture (see fixtures.ts for the ready-made ones)
//   namespace      created, and the context's namespace (default 'default')
//   context        context/cluster name in the kubeconfig (default `fake-<fixture>`)
//   token          bearer token in the kubeconfig (default random); a request carrying another is
//                  refused with 401 (kubectl sends none over plain http, which is served)
//   port           listen port on 127.0.0.1 (default: any free one)
//   unpullableImages  images whose pull fails (ErrImagePull → ImagePullBackOff). Any image whose
//                  name contains `does-not-exist` fails too, so a bad image can be tried by hand.
//   images         image name → ImageConfig (ENTRYPOINT/CMD/env/workingDir, files bind-mounted
//                  from the host, paths hidden — e.g. { hide: ['/usr/bin/node'] } for an image
//                  without Node). Otherwise an image is the host's root filesystem, and a
//                  container with neither command nor args runs `sleep infinity`.
//   timing         { pullMs, imagePullBackoffMs, crashLoopBackoffMs } (defaults 0, 1000, 1000;
//                  the real back-offs are 10 s and up — kept short so tests stay fast)
//
// The returned FakeKube (stable API: add, don't rename):
//   url, kubeconfigPath, context, namespace, token, nodes (names), store (the raw object store)
//   stop()                                   everything down; safe to call twice
//   deletePod(name, { namespace?, gracePeriodSeconds? })   like `kubectl delete pod` (graceful:
//                                            SIGTERM, SIGKILL after the grace period); resolves
//                                            once the pod is gone
//   evictPod(name, { namespace?, message? })  node-pressure eviction by the kubelet: processes
//                                            killed, the pod stays with phase Failed, reason Evicted
//   setImagePullable(image, pullable)        make an image's pulls fail or succeed from now on
//   setNodeCapacity(node, { 'nvidia.com/gpu': '4', ... })  capacity and allocatable of a node
//                                            change (a node losing GPUs); running pods keep running
//   setNodeReady(node, ready)                Ready condition (Unknown when not) and the unreachable
//                                            NoSchedule/NoExecute taints; its pods keep running
//   setNodeSchedulable(node, schedulable)    cordon / uncordon
//   setNodeTaints(node, taints)              replaces a node's taints (as `kubectl taint` does;
//                                            pending pods are scheduled again)
//   addNode(spec) / removeNode(name)         a removed node's pods are deleted (pod GC)
//   get(resource, name, namespace?) / list(resource, namespace?)   snapshots of stored objects
//   podPids(name, namespace?)                live host pids of a pod's processes
//   livePids()                               live host pids of every pod of this fake
//   kubeconfig()                             the kubeconfig as an object (to merge contexts)
// writeKubeconfig(path, fakes, current?) writes one kubeconfig with a context per fake (the
// provider's failover across contexts), current-context = `current` or the first.
// serveForeground() is the `npm run fake -- kubernetes` entry (test/fakes/main.ts).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { ServiceAllocator } from './admission.js';
import type { FakeContext, ImageConfig, Timing } from './context.js';
import { ControlPlane } from './controllers.js';
import { EventRecorder } from './events.js';
import { FIXTURES, nodeObject, type NodeSpec } from './fixtures.js';
import { findResource } from './resources.js';
import { Rest } from './rest.js';
import { ApiServer } from './server.js';
import { ServiceNetwork } from './services.js';
import { now, Store, type KObj } from './store.js';

export type { NodeSpec } from './fixtures.js';
export type { ImageConfig, Timing } from './context.js';
export type { KObj } from './store.js';
export { A100_NODE, CPU_NODE, FIXTURES, H100_NODE, H200_NODE, L4_GKE_NODE, MI300X_NODE } from './fixtures.js';

export interface FakeKubeOptions {
  fixture?: string;
  nodes?: NodeSpec[];
  namespace?: string;
  context?: string;
  token?: string;
  port?: number;
  unpullableImages?: string[];
  images?: Record<string, ImageConfig>;
  timing?: Partial<Timing>;
}

export interface FakeKube {
  url: string;
  kubeconfigPath: string;
  context: string;
  namespace: string;
  token: string;
  nodes: string[];
  store: Store;
  stop(): Promise<void>;
  deletePod(name: string, opts?: { namespace?: string; gracePeriodSeconds?: number }): Promise<void>;
  evictPod(name: string, opts?: { namespace?: string; message?: string }): Promise<void>;
  setImagePullable(image: string, pullable: boolean): void;
  setNodeCapacity(node: string, resources: Record<string, string>): void;
  setNodeReady(node: string, ready: boolean): void;
  setNodeSchedulable(node: string, schedulable: boolean): void;
  setNodeTaints(node: string, taints: NonNullable<NodeSpec['taints']>): void;
  addNode(spec: NodeSpec): void;
  removeNode(name: string): void;
  get(resource: string, name: string, namespace?: string): KObj | undefined;
  list(resource: string, namespace?: string): KObj[];
  podPids(name: string, namespace?: string): number[];
  livePids(): number[];
  kubeconfig(): Kubeconfig;
}

interface Kubeconfig {
  apiVersion: 'v1';
  kind: 'Config';
  clusters: { name: string; cluster: Record<string, unknown> }[];
  users: { name: string; user: Record<string, unknown> }[];
  contexts: { name: string; context: Record<string, unknown> }[];
  'current-context': string;
  preferences: Record<string, never>;
}

function checkRoot(): void {
  try {
    execFileSync('unshare', ['-p', '-u', '-m', '-f', '--', 'true'], { stdio: 'ignore' });
  } catch {
    throw new Error('the Kubernetes fake runs pods in Linux namespaces and needs root (unshare -p -u -m failed)');
  }
}

/** Live processes whose PID namespace is one of `nsIds` (zombies excluded: pid 1 here does not reap). */
function pidsInNamespaces(nsIds: Set<string>): number[] {
  const out: number[] = [];
  if (nsIds.size === 0) return out;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (!nsIds.has(readlinkSync(`/proc/${e}/ns/pid`))) continue;
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${e}/status`, 'utf8'))) continue;
      out.push(Number(e));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

export async function startFakeKube(opts: FakeKubeOptions = {}): Promise<FakeKube> {
  checkRoot();
  const fixture = opts.fixture ?? 'mixed';
  const specs = opts.nodes ?? FIXTURES[fixture]?.();
  if (!specs) throw new Error(`unknown fixture '${fixture}' (known: ${Object.keys(FIXTURES).join(', ')})`);
  const rootDir = mkdtempSync(join(tmpdir(), 'aloft-fakekube-'));
  const store = new Store();
  const token = opts.token ?? randomBytes(16).toString('hex');
  const contextName = opts.context ?? `fake-${fixture}`;
  const namespace = opts.namespace ?? 'default';
  const unpullable = new Set(opts.unpullableImages ?? []);
  const pullable = new Set<string>();
  // Pods and nodes get addresses in a random 127.A.B.0/… block, so fakes running side by side
  // (several contexts, parallel test files) do not hand out the same pod IP.
  const a = 64 + Math.floor(Math.random() * 190);
  const b = Math.floor(Math.random() * 200);
  let podSeq = 0;
  const nodeIps = new Map<string, string>();
  const ctx: FakeContext = {
    store,
    events: new EventRecorder(store),
    rootDir,
    apiHost: '127.0.0.1',
    apiPort: 0,
    timing: { pullMs: 0, imagePullBackoffMs: 1000, crashLoopBackoffMs: 1000, ...(opts.timing ?? {}) },
    image: (ref) => opts.images?.[ref] ?? opts.images?.[ref.replace(/:[^/:]+$/, '')] ?? {},
    isPullable: (ref) => pullable.has(ref) || (!unpullable.has(ref) && !ref.includes('does-not-exist')),
    allocatePodIp: () => {
      const n = podSeq++;
      return `127.${a}.${(b + 1 + Math.floor(n / 250)) % 256}.${(n % 250) + 2}`;
    },
    nodeIp: (node) => nodeIps.get(node) ?? '',
  };
  const services = new ServiceAllocator();
  const rest = new Rest(ctx, services);
  const control = new ControlPlane(ctx);
  const server = new ApiServer(ctx, control, rest, token);
  const port = await server.listen('127.0.0.1', opts.port ?? 0);
  ctx.apiPort = port;
  const url = `http://127.0.0.1:${port}`;

  const addNode = (spec: NodeSpec) => {
    const ip = `127.${a}.${b}.${nodeIps.size + 2}`;
    nodeIps.set(spec.name, ip);
    store.create('nodes', nodeObject(spec, ip));
  };
  for (const ns of new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease', namespace])) {
    rest.create(findResource('', 'v1', 'namespaces')!, undefined, { metadata: { name: ns } });
  }
  rest.create(findResource('', 'v1', 'services')!, 'default', {
    metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
  });
  for (const s of specs) addNode(s);
  control.start();
  const network = new ServiceNetwork(ctx, (n) => `127.${a}.${(b + 128) % 256}.${(n % 250) + 2}`);
  network.start();

  const kubeconfig = (): Kubeconfig => ({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: contextName, cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: `${contextName}-admin`, user: { token } }],
    contexts: [{ name: contextName, context: { cluster: contextName, user: `${contextName}-admin`, namespace } }],
    'current-context': contextName,
    preferences: {},
  });
  const kubeconfigPath = join(rootDir, 'kubeconfig');
  writeFileSync(kubeconfigPath, stringify(kubeconfig()), { mode: 0o600 });

  const podNsIds = (filter?: (r: { ns: string; name: string }) => boolean) => {
    const ids = new Set<string>();
    for (const r of control.runners.values()) {
      if (filter && !filter(r)) continue;
      const pid = r.pausePid;
      if (pid) {
        try {
          ids.add(readlinkSync(`/proc/${pid}/ns/pid`));
        } catch {
          /* gone */
        }
      }
    }
    return ids;
  };
  const mustNode = (name: string) => {
    if (!store.get('nodes', undefined, name)) throw new Error(`no node ${name} in fake cluster ${contextName}`);
  };
  let stopped: Promise<void> | undefined;

  return {
    url,
    kubeconfigPath,
    context: contextName,
    namespace,
    token,
    nodes: specs.map((s) => s.name),
    store,
    stop: () =>
      (stopped ??= (async () => {
        await server.close();
        await network.stop();
        await control.stop();
        rmSync(rootDir, { recursive: true, force: true });
      })()),
    deletePod: async (name, o = {}) => {
      const ns = o.namespace ?? namespace;
      const pod = store.get('pods', ns, name);
      if (!pod) throw new Error(`no pod ${ns}/${name}`);
      rest.deletePod(pod, o.gracePeriodSeconds);
      await new Promise<void>((resolve) => {
        const check = () => {
          const cur = store.get('pods', ns, name);
          if (!cur || cur.metadata.uid !== pod.metadata.uid) return (unsubscribe(), resolve(), true);
          return false;
        };
        const unsubscribe = store.subscribe(() => void check());
        check();
      });
    },
    evictPod: (name, o = {}) =>
      control.evict(o.namespace ?? namespace, name, o.message ?? 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki. '),
    setImagePullable: (image, ok) => {
      if (ok) (pullable.add(image), unpullable.delete(image));
      else (unpullable.add(image), pullable.delete(image));
    },
    setNodeCapacity: (node, resources) => {
      mustNode(node);
      store.mutate('nodes', undefined, node, (n) => {
        n.status.capacity = { ...n.status.capacity, ...resources };
        n.status.allocatable = { ...n.status.allocatable, ...resources };
      });
    },
    setNodeReady: (node, ready) => {
      mustNode(node);
      store.mutate('nodes', undefined, node, (n) => {
        const t = now();
        n.status.conditions = n.status.conditions.map((c: any) =>
          c.type === 'Ready'
            ? { ...c, status: ready ? 'True' : 'Unknown', reason: ready ? 'KubeletReady' : 'NodeStatusUnknown', message: ready ? 'kubelet is posting ready status' : 'Kubelet stopped posting node status.', lastTransitionTime: t, lastHeartbeatTime: t }
            : c,
        );
        const taints = (n.spec.taints ?? []).filter((x: any) => !x.key.startsWith('node.kubernetes.io/unreachable'));
        if (!ready) taints.push({ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', timeAdded: t }, { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: t });
        if (taints.length) n.spec.taints = taints;
        else delete n.spec.taints;
      });
    },
    setNodeSchedulable: (node, schedulable) => {
      mustNode(node);
      store.mutate('nodes', undefined, node, (n) => {
        if (schedulable) delete n.spec.unschedulable;
        else n.spec.unschedulable = true;
      });
    },
    setNodeTaints: (node, taints) => {
      mustNode(node);
      store.mutate('nodes', undefined, node, (n) => {
        if (taints.length) n.spec.taints = taints.map((t) => ({ ...t }));
        else delete n.spec.taints;
      });
    },
    addNode,
    removeNode: (name) => {
      mustNode(name);
      store.remove('nodes', undefined, name);
    },
    get: (resource, name, ns) => store.get(resource, ns, name),
    list: (resource, ns) => store.list(resource, ns),
    podPids: (name, ns) => pidsInNamespaces(podNsIds((r) => r.name === name && r.ns === (ns ?? namespace))),
    livePids: () => pidsInNamespaces(podNsIds()),
    kubeconfig,
  };
}

/** One kubeconfig with a context per fake (and its cluster and user). */
export function writeKubeconfig(path: string, fakes: FakeKube[], current?: string): void {
  const configs = fakes.map((f) => f.kubeconfig());
  const merged: Kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: configs.flatMap((c) => c.clusters),
    users: configs.flatMap((c) => c.users),
    contexts: configs.flatMap((c) => c.contexts),
    'current-context': current ?? configs[0]?.['current-context'] ?? '',
    preferences: {},
  };
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, stringify(merged), { mode: 0o600 });
}

/** `npm run fake -- kubernetes [--fixture F] --write-config DIR` */
export async function serveForeground(o: { fixture?: string; configDir: string }): Promise<{ lines: string[]; stop(): Promise<void> }> {
  const kube = await startFakeKube({ fixture: o.fixture ?? 'mixed' });
  const path = join(o.configDir, 'kubeconfig');
  writeKubeconfig(path, [kube]);
  writeFileSync(join(o.configDir, 'kubernetes.env'), `export KUBECONFIG=${path}\n`);
  return {
    lines: [`kubernetes API at ${kube.url} (context ${kube.context}, nodes: ${kube.nodes.join(', ')})`, `export KUBECONFIG=${path}`],
    stop: () => kube.stop(),
  };
}
