// Records as the daemon stores them, for tests that put them in a Store directly.
import type { ClusterRecord } from '../../src/protocol/model.js';

/** An UP one-node local cluster `name` (uid `NAME-uid`), with what `extra` says otherwise. */
export const localCluster = (name: string, extra: Partial<ClusterRecord> = {}): ClusterRecord => ({
  name,
  uid: `${name}-uid`,
  status: 'UP',
  cloud: 'local',
  infra: 'local',
  numNodes: 1,
  resources: '1x(cpus=2)',
  useSpot: false,
  hourlyPrice: 0,
  launchedAt: 1,
  updatedAt: 1,
  ...extra,
});
