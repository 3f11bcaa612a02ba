// Where a cluster's `ports:` answer: a NodePort service on a node's address, a LoadBalancer's
// ingress, or the head pod's IP (podip). The head pod and the service are found by the cluster's
// labels, never by name (the seed fork's f3b4561: names are not what they seem in HA setups).
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import type { KubeApi } from './api.js';
import { nodeUsage } from './capacity.js';
import { LABEL_RANK, selector } from './pod-spec.js';
import type { KubeClusterRecord } from './records.js';

/** The head pod among a cluster's pods: by its rank label. */
export function headPod(pods: V1Pod[]): V1Pod | undefined {
  return pods.find((p) => p.metadata?.labels?.[LABEL_RANK] === '0' && !p.metadata?.deletionTimestamp);
}

export function serviceEndpoints(svc: V1Service, nodeAddress: string | undefined, ports: number[]): Record<number, string> {
  const out: Record<number, string> = {};
  for (const sp of svc.spec?.ports ?? []) {
    if (!ports.includes(sp.port)) continue;
    if (svc.spec?.type === 'LoadBalancer') {
      const ing = svc.status?.loadBalancer?.ingress?.[0];
      const host = ing?.ip ?? ing?.hostname;
      out[sp.port] = host ? `${host}:${sp.port}` : '(load balancer pending)';
    } else if (sp.nodePort && nodeAddress) out[sp.port] = `${nodeAddress}:${sp.nodePort}`;
  }
  return out;
}

export async function endpointsOf(api: KubeApi, rec: KubeClusterRecord): Promise<Record<number, string>> {
  if (!rec.ports.length) return {};
  const sel = selector(rec.cluster, rec.uid);
  const head = headPod(await api.listPods(rec.namespace, sel));
  if (rec.portsMode === 'podip') {
    const ip = head?.status?.podIP;
    return Object.fromEntries(rec.ports.map((p) => [p, ip ? `${ip}:${p}` : '(head pod has no IP)']));
  }
  const [svc] = await api.listServices(rec.namespace, sel);
  if (!svc) return {};
  let address: string | undefined;
  if (svc.spec?.type !== 'LoadBalancer') {
    // Any node answers on a NodePort; the head's node is the natural one to name.
    const nodes = await api.listNodes();
    const usage = nodeUsage(nodes, []);
    address = usage.find((n) => n.name === head?.spec?.nodeName)?.address ?? usage.find((n) => n.address)?.address;
  }
  return serviceEndpoints(svc, address, rec.ports);
}
