// Server-side printing: kubectl `get` asks for meta.k8s.io/v1 Tables and prints the server's
// columns (priority 1 = `-o wide`). The cells follow the real printers (the pod STATUS column's
// Init:0/1, ErrImagePull, CrashLoopBackOff, Completed, Terminating…).
import type { KObj } from './store.js';

type Col = { name: string; type: string; format?: string; priority?: number; description?: string };
type Printer = { columns: Col[]; cells: (o: KObj) => unknown[] };

export function age(ts: string | undefined, at = Date.now()): string {
  if (!ts) return '<unknown>';
  const s = Math.max(0, Math.floor((at - Date.parse(ts)) / 1000));
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const d = Math.floor(h / 24);
  if (s < 120) return `${s}s`;
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (h < 3) return `${m}m`;
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

const name: Col = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.' };
const ageCol: Col = { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' };

export function podStatusReason(pod: KObj): { reason: string; ready: number; total: number; restarts: number } {
  const st = pod.status ?? {};
  let reason: string = st.reason || st.phase || 'Pending';
  const total = pod.spec?.containers?.length ?? 0;
  let ready = 0;
  let restarts = 0;
  let initializing = false;
  const inits: any[] = st.initContainerStatuses ?? [];
  for (const [i, c] of inits.entries()) {
    restarts += c.restartCount ?? 0;
    const t = c.state?.terminated;
    const w = c.state?.waiting;
    if (t && t.exitCode === 0) continue;
    initializing = true;
    if (t) reason = t.reason ? `Init:${t.reason}` : t.signal ? `Init:Signal:${t.signal}` : `Init:ExitCode:${t.exitCode}`;
    else if (w?.reason && w.reason !== 'PodInitializing') reason = `Init:${w.reason}`;
    else reason = `Init:${i}/${(pod.spec?.initContainers ?? []).length}`;
    break;
  }
  if (!initializing) {
    restarts = 0;
    let hasRunning = false;
    for (const c of [...(st.containerStatuses ?? [])].reverse()) {
      restarts += c.restartCount ?? 0;
      const t = c.state?.terminated;
      const w = c.state?.waiting;
      if (w?.reason) reason = w.reason;
      else if (t?.reason) reason = t.reason;
      else if (t) reason = t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode}`;
      else if (c.ready && c.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) reason = 'Running';
  }
  if (pod.metadata.deletionTimestamp) reason = st.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return { reason, ready, total, restarts };
}

const PRINTERS: Record<string, Printer> = {
  Pod: {
    columns: [
      name,
      { name: 'Ready', type: 'string', description: 'The aggregate readiness state of this pod for accepting traffic.' },
      { name: 'Status', type: 'string', description: 'The aggregate status of the containers in this pod.' },
      { name: 'Restarts', type: 'string', description: 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.' },
      ageCol,
      { name: 'IP', type: 'string', priority: 1, description: 'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.' },
      { name: 'Node', type: 'string', priority: 1, description: 'NodeName is a request to schedule this pod onto a specific node.' },
      { name: 'Nominated Node', type: 'string', priority: 1, description: 'nominatedNodeName is set only when this pod preempts other pods on the node.' },
      { name: 'Readiness Gates', type: 'string', priority: 1, description: 'If specified, all readiness gates will be evaluated for pod readiness.' },
    ],
    cells: (p) => {
      const s = podStatusReason(p);
      return [p.metadata.name, `${s.ready}/${s.total}`, s.reason, String(s.restarts), age(p.metadata.creationTimestamp), p.status?.podIP || '<none>', p.spec?.nodeName || '<none>', p.status?.nominatedNodeName || '<none>', '<none>'];
    },
  },
  Node: {
    columns: [
      name,
      { name: 'Status', type: 'string', description: 'The status of the node' },
      { name: 'Roles', type: 'string', description: 'The roles of the node' },
      ageCol,
      { name: 'Version', type: 'string', description: 'Kubelet Version reported by the node.' },
      { name: 'Internal-IP', type: 'string', priority: 1, description: 'List of addresses reachable to the node.' },
      { name: 'External-IP', type: 'string', priority: 1, description: 'List of addresses reachable to the node.' },
      { name: 'OS-Image', type: 'string', priority: 1, description: 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).' },
      { name: 'Kernel-Version', type: 'string', priority: 1, description: "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)." },
      { name: 'Container-Runtime', type: 'string', priority: 1, description: 'Container runtime version reported by the node through runtime remote API (e.g. containerd://1.4.2).' },
    ],
    cells: (n) => {
      const ready = (n.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
      const status = [ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown', ...(n.spec?.unschedulable ? ['SchedulingDisabled'] : [])].join(',');
      const roles = Object.keys(n.metadata.labels ?? {})
        .filter((k) => k.startsWith('node-role.kubernetes.io/'))
        .map((k) => k.slice('node-role.kubernetes.io/'.length))
        .join(',');
      const addr = (t: string) => (n.status?.addresses ?? []).find((a: any) => a.type === t)?.address ?? '<none>';
      const info = n.status?.nodeInfo ?? {};
      return [n.metadata.name, status, roles || '<none>', age(n.metadata.creationTimestamp), info.kubeletVersion ?? '', addr('InternalIP'), addr('ExternalIP'), info.osImage ?? '<unknown>', info.kernelVersion ?? '<unknown>', info.containerRuntimeVersion ?? '<unknown>'];
    },
  },
  Service: {
    columns: [
      name,
      { name: 'Type', type: 'string', description: 'type determines how the Service is exposed.' },
      { name: 'Cluster-IP', type: 'string', description: 'clusterIP is the IP address of the service.' },
      { name: 'External-IP', type: 'string', description: 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.' },
      { name: 'Port(s)', type: 'string', description: 'The list of ports that are exposed by this service.' },
      ageCol,
      { name: 'Selector', type: 'string', priority: 1, description: 'Route service traffic to pods with label keys and values matching this selector.' },
    ],
    cells: (s) => {
      const sp = s.spec ?? {};
      const ingress = (s.status?.loadBalancer?.ingress ?? []).map((i: any) => i.ip ?? i.hostname);
      const ext = sp.type === 'LoadBalancer' ? (ingress.length ? ingress.join(',') : '<pending>') : (sp.externalIPs ?? []).join(',') || '<none>';
      const ports = (sp.ports ?? []).map((p: any) => `${p.port}${p.nodePort ? ':' + p.nodePort : ''}/${p.protocol ?? 'TCP'}`).join(',') || '<none>';
      const sel = Object.entries(sp.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>';
      return [s.metadata.name, sp.type, sp.clusterIP || '<none>', ext, ports, age(s.metadata.creationTimestamp), sel];
    },
  },
  Event: {
    columns: [
      { name: 'Last Seen', type: 'string', description: 'The last time this event was seen.' },
      { name: 'Type', type: 'string', description: 'Type of this event (Normal, Warning).' },
      { name: 'Reason', type: 'string', description: 'This should be a short, machine understandable string.' },
      { name: 'Object', type: 'string', description: 'The object this Event is about.' },
      { name: 'Subobject', type: 'string', priority: 1, description: 'The field of the object this Event is about.' },
      { name: 'Source', type: 'string', priority: 1, description: 'The component reporting this event.' },
      { name: 'Message', type: 'string', description: 'A human-readable description of the status of this operation.' },
      { name: 'First Seen', type: 'string', priority: 1, description: 'The first time this event was seen.' },
      { name: 'Count', type: 'string', priority: 1, description: 'The number of times this event has occurred.' },
      { ...name, priority: 1 },
    ],
    cells: (e) => {
      const io = e.involvedObject ?? {};
      const src = [e.source?.component, e.source?.host].filter(Boolean).join(', ');
      return [age(e.lastTimestamp ?? e.eventTime), e.type, e.reason, `${String(io.kind ?? '').toLowerCase()}/${io.name}`, io.fieldPath ?? '', src, e.message, age(e.firstTimestamp), String(e.count ?? 1), e.metadata.name];
    },
  },
  Namespace: {
    columns: [name, { name: 'Status', type: 'string', description: 'The status of the namespace' }, ageCol],
    cells: (n) => [n.metadata.name, n.status?.phase ?? 'Active', age(n.metadata.creationTimestamp)],
  },
  Secret: {
    columns: [name, { name: 'Type', type: 'string', description: 'The type of the secret' }, { name: 'Data', type: 'string', description: 'The number of entries in the secret' }, ageCol],
    cells: (s) => [s.metadata.name, s.type, String(Object.keys(s.data ?? {}).length), age(s.metadata.creationTimestamp)],
  },
  ConfigMap: {
    columns: [name, { name: 'Data', type: 'string', description: 'The number of entries in the config map' }, ageCol],
    cells: (c) => [c.metadata.name, String(Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length), age(c.metadata.creationTimestamp)],
  },
  ServiceAccount: {
    columns: [name, { name: 'Secrets', type: 'string', description: 'Secrets' }, ageCol],
    cells: (s) => [s.metadata.name, String((s.secrets ?? []).length), age(s.metadata.creationTimestamp)],
  },
};

const DEFAULT: Printer = { columns: [name, ageCol], cells: (o) => [o.metadata.name, age(o.metadata.creationTimestamp)] };

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function rowObject(o: KObj, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return o;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

export function toTable(kind: string, objs: KObj[], meta: Record<string, unknown>, include: IncludeObject = 'Metadata'): Record<string, unknown> {
  const p = PRINTERS[kind] ?? DEFAULT;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: meta,
    columnDefinitions: p.columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 })),
    rows: objs.map((o) => ({ cells: p.cells(o), object: rowObject(o, include) })),
  };
}

/** True when the Accept header asks for a Table (kubectl get: `application/json;as=Table;v=v1;g=meta.k8s.io`). */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => /;\s*as=Table/.test(part) && /g=meta\.k8s\.io/.test(part) && /v=v1(beta1)?\b/.test(part));
}
