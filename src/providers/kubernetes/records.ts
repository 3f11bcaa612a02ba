// Where each kubernetes cluster lives (context, namespace, uid) and what its pods are, kept in
// ALOFT_HOME/kubernetes/clusters.json (written atomically). A record is written before the first
// pod is created, so a daemon killed mid-launch still knows where to look; the pods themselves
// carry the cluster's labels, so teardown deletes by label and finds pods the record never saw.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { KubernetesConfig } from '../../spec/kubernetes-config.js';

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

export class ClusterRecords {
  constructor(readonly file: string) {}

  private read(): Record<string, KubeClusterRecord> {
    if (!existsSync(this.file)) return {};
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, KubeClusterRecord>;
    } catch {
      throw new Error(`cannot read ${this.file}; fix or delete it (pods are found by label either way)`);
    }
  }

  private write(all: Record<string, KubeClusterRecord>): void {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(all, null, 1) + '\n', { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  get(cluster: string): KubeClusterRecord | undefined {
    return this.read()[cluster];
  }

  list(): KubeClusterRecord[] {
    return Object.values(this.read());
  }

  put(r: KubeClusterRecord): void {
    const all = this.read();
    all[r.cluster] = r;
    this.write(all);
  }

  remove(cluster: string, uid?: string): void {
    const all = this.read();
    if (!all[cluster] || (uid && all[cluster]!.uid !== uid)) return;
    delete all[cluster];
    this.write(all);
  }
}
