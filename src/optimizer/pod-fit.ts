// How many pods of a demand fit on a Kubernetes context's nodes now. Pure and over plain data, so
// a live offering can carry its nodes across the planning worker's structured clone (a closure
// cannot) and the planner counts on the worker side.
import type { PodDemand } from '../providers/types.js';

/** What the fit needs to know about one cluster node. */
export interface FitNode {
  /** not cordoned and Ready: the scheduler may place pods here */
  schedulable: boolean;
  freeCpus: number;
  freeMemoryGiB: number;
  freeGpus: number;
  freePods: number;
  /** the node's GPU (name undefined when no label names it) */
  gpu?: { name?: string };
}

/**
 * The demand with SkyPilot's Kubernetes defaults filled in where the task says
 * nothing: 2 CPUs and 2 GiB for CPU pods, 4 CPUs and 16 GiB with GPUs.
 */
export function effectiveDemand(d: PodDemand): { cpus: number; memoryGiB: number; accelerator?: string; gpus: number } {
  const gpus = d.gpus ?? 0;
  const cpus = d.cpus ?? (gpus > 0 ? 4 : 2);
  const memoryGiB = d.memoryGiB ?? (gpus > 0 ? 16 : cpus);
  return { cpus, memoryGiB, gpus, ...(d.accelerator ? { accelerator: d.accelerator } : {}) };
}

/** Whether a pod of this demand could ever go to this node (schedulable, the GPU type asked for). */
function eligible(n: FitNode, d: ReturnType<typeof effectiveDemand>): boolean {
  if (!n.schedulable) return false;
  if (d.gpus > 0) {
    if (!n.gpu || (d.accelerator && n.gpu.name !== d.accelerator)) return false;
  }
  return true;
}

/**
 * How many pods of this demand fit on these nodes now (each node packed on its own). Taints other
 * than the GPU ones, quotas and affinities from pod_config are the scheduler's to judge: a pod this
 * counts may still stay Pending, which the provision timeout turns into a failover.
 */
export function podsThatFit(nodes: readonly FitNode[], demand: PodDemand): number {
  const d = effectiveDemand(demand);
  let total = 0;
  for (const n of nodes) {
    if (!eligible(n, d)) continue;
    let k = n.freePods;
    if (d.cpus > 0) k = Math.min(k, Math.floor((n.freeCpus + 1e-9) / d.cpus));
    if (d.memoryGiB > 0) k = Math.min(k, Math.floor((n.freeMemoryGiB + 1e-9) / d.memoryGiB));
    if (d.gpus > 0) k = Math.min(k, Math.floor(n.freeGpus / d.gpus));
    total += Math.max(0, k);
  }
  return total;
}
