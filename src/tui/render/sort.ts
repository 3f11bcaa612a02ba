// Sort orders for `N`/`A`/`S` (name, age, status), as comparators over records.
import type { ClusterRecord, JobRecord, ManagedJobRecord, RequestRecord } from '../../protocol/model.js';

export type SortKey = 'name' | 'age' | 'status';

/** The comparator, or its reverse (the sort key pressed a second time). */
export function directed<T>(cmp: (a: T, b: T) => number, reverse: boolean): (a: T, b: T) => number {
  return reverse ? (a, b) => cmp(b, a) : cmp;
}

const CLUSTER_RANK: Record<string, number> = { INIT: 0, UP: 1, STOPPED: 2, TERMINATED: 3 };
const JOB_RANK: Record<string, number> = {
  RUNNING: 0, SETTING_UP: 1, PENDING: 2, INIT: 3, FAILED: 4, FAILED_SETUP: 5, FAILED_DRIVER: 6, CANCELLED: 7, SUCCEEDED: 8,
};
/** Jobs that need a look first: recovering, then live, then waiting, then finished. */
const MANAGED_RANK: Record<string, number> = {
  RECOVERING: 0, RUNNING: 1, STARTING: 2, PENDING: 3, CANCELLING: 4, FAILED: 5, FAILED_SETUP: 6, FAILED_NO_RESOURCE: 7,
  FAILED_CONTROLLER: 8, CANCELLED: 9, SUCCEEDED: 10,
};
const REQ_RANK: Record<string, number> = { RUNNING: 0, FAILED: 1, CANCELLED: 2, SUCCEEDED: 3 };

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function clusterComparator(key: SortKey): (a: ClusterRecord, b: ClusterRecord) => number {
  switch (key) {
    case 'age':
      return (a, b) => b.launchedAt - a.launchedAt || byName(a.name, b.name);
    case 'status':
      return (a, b) => (CLUSTER_RANK[a.status] ?? 9) - (CLUSTER_RANK[b.status] ?? 9) || byName(a.name, b.name);
    default:
      return (a, b) => byName(a.name, b.name);
  }
}

/** Newest first by default (submission time: ids are per cluster, and the all-jobs view mixes them). */
export function jobComparator(key: SortKey): (a: JobRecord, b: JobRecord) => number {
  const newest = (a: JobRecord, b: JobRecord) => b.submittedAt - a.submittedAt || b.id - a.id || byName(a.cluster, b.cluster);
  switch (key) {
    case 'name':
      return (a, b) => byName(a.name ?? '', b.name ?? '') || newest(a, b);
    case 'status':
      return (a, b) => (JOB_RANK[a.status] ?? 9) - (JOB_RANK[b.status] ?? 9) || newest(a, b);
    default:
      return newest;
  }
}

export function requestComparator(key: SortKey): (a: RequestRecord, b: RequestRecord) => number {
  switch (key) {
    case 'name':
      return (a, b) => byName(a.cluster, b.cluster) || b.createdAt - a.createdAt;
    case 'status':
      return (a, b) => (REQ_RANK[a.status] ?? 9) - (REQ_RANK[b.status] ?? 9) || b.createdAt - a.createdAt;
    default:
      return (a, b) => b.createdAt - a.createdAt;
  }
}

export function managedComparator(key: SortKey): (a: ManagedJobRecord, b: ManagedJobRecord) => number {
  switch (key) {
    case 'name':
      return (a, b) => byName(a.name ?? '', b.name ?? '') || b.id - a.id;
    case 'status':
      return (a, b) => (MANAGED_RANK[a.status] ?? 99) - (MANAGED_RANK[b.status] ?? 99) || b.id - a.id;
    default:
      return (a, b) => b.submittedAt - a.submittedAt || b.id - a.id;
  }
}
