// Where each kubernetes cluster lives (context, namespace, uid) and what its pods are, kept in
// ALOFT_HOME/kubernetes/clusters.json (written atomically). A record is written before the first
// pod is created, so a daemon killed mid-launch still knows where to look; the pods themselves
// carry the cluster's labels, so teardown deletes by label and finds pods the record never saw.
import type { KubernetesConfig } from '../../spec/kubernetes-config.js';
import { JsonClusterStore } from '../ssh/reservations.js';

export interface PodRecord {
  rank: number;
  pod: string;
  ip: string;
  /** the node's home in the pod ($HOME of the image's user) */
  home: string;
  /** the Kubernetes node it runs on */
  node?: string;
}

export interface KubeClusterRecord {
  cluster: string;
  uid: string;
  context: string;
  namespace: string;
  numNodes: number;
  /** what each pod was given, for the agent's resource view */
  shape: { cpus: number; memoryGiB: number; accelerator?: string; gpus: number; resourceKey?: string };
  image: string;
  ports: number[];
  portsMode: 'nodeport' | 'loadbalancer' | 'podip';
  /** sha256 of the agent bundle in the cluster's ConfigMap (mounted in every pod) */
  agentSha?: string;
  /** pod labels from the task and custom_metadata */
  labels?: Record<string, string>;
  /** the task's `config: {kubernetes: ...}`, for recreating pods alike */
  taskConfig?: KubernetesConfig;
  pods: PodRecord[];
  createdAt: number;
}

export class ClusterRecords extends JsonClusterStore<KubeClusterRecord> {
  constructor(file: string) {
    super(file, 'kubernetes cluster records', ' (pods are found by label either way)');
  }

  /** Forgets `cluster`; with `uid`, only while the record is still that incarnation's. */
  override remove(cluster: string, uid?: string): void {
    const all = this.read();
    if (!all[cluster] || (uid && all[cluster]!.uid !== uid)) return;
    delete all[cluster];
    this.write(all);
  }
}
