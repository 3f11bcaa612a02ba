import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/daemon/db.js';
import { Store } from '../../src/daemon/store.js';
import type { ClusterRecord, JobRecord, StateEvent } from '../../src/protocol/model.js';
import { localCluster as cluster } from '../helpers/records.js';

const job = (c: ClusterRecord, id: number, status: JobRecord['status'] = 'RUNNING'): JobRecord => ({
  cluster: c.name,
  clusterUid: c.uid,
  id,
  status,
  numNodes: 1,
  demand: { cpus: 0.5, gpus: 0 },
  resources: '1x[CPU:0.5]',
  submittedAt: id,
  taskId: `t-${id}`,
});

function freshStore(path = join(mkdtempSync(join(tmpdir(), 'aloft-store-')), 'state.db')) {
  return { store: new Store(openDatabase(path)), path };
}

describe('Store', () => {
  it('uses WAL and migrates to the current schema', () => {
    const { store } = freshStore();
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('user_version', { simple: true })).toBeGreaterThanOrEqual(1);
  });

  it('numbers events without gaps and publishes them after commit', () => {
    const { store } = freshStore();
    const seen: StateEvent[] = [];
    store.on('event', (e) => seen.push(e));
    const c = store.putCluster(cluster('a'));
    store.putJob(job(c, 1));
    store.updateCluster('a', { status: 'STOPPED' });
    store.removeCluster('a');
    expect(seen.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(seen.map((e) => e.kind)).toEqual(['cluster', 'job', 'cluster', 'cluster-removed']);
    expect(store.eventsSince(2)!.map((e) => e.seq)).toEqual([3, 4]);
  });

  it('rolls back events with a failed transaction', () => {
    const { store } = freshStore();
    const seen: StateEvent[] = [];
    store.on('event', (e) => seen.push(e));
    expect(() =>
      store.tx(() => {
        store.putCluster(cluster('b'));
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(seen).toEqual([]);
    expect(store.getCluster('b')).toBeUndefined();
    store.putCluster(cluster('c'));
    expect(seen.map((e) => e.seq)).toEqual([1]);
  });

  it('survives reopening: records, internal state and the sequence', () => {
    const { store, path } = freshStore();
    const c = store.putCluster(cluster('d'));
    store.setInternal('d', { agentSeq: 42 });
    store.putJob(job(c, 7, 'SUCCEEDED'));
    store.db.close();
    const again = new Store(openDatabase(path));
    expect(again.getCluster('d')?.status).toBe('UP');
    expect(again.getInternal('d').agentSeq).toBe(42);
    expect(again.jobsOf('d-uid').map((j) => j.id)).toEqual([7]);
    expect(again.currentSeq).toBe(2);
  });

  it('keeps job rows after the cluster is removed (logs after down)', () => {
    const { store } = freshStore();
    const c = store.putCluster(cluster('e'));
    store.putJob(job(c, 1, 'SUCCEEDED'));
    store.setJobLog(c.uid, 1, '/tmp/x.log');
    store.removeCluster('e');
    expect(store.latestUidOf('e')).toBe('e-uid');
    expect(store.jobLog('e-uid', 1)).toBe('/tmp/x.log');
  });

  it('snapshots clusters, their jobs and the sequence', () => {
    const { store } = freshStore();
    const c = store.putCluster(cluster('f'));
    store.putJob(job(c, 1));
    store.notice('hello');
    const snap = store.snapshot();
    expect(snap.seq).toBe(store.currentSeq);
    expect(snap.clusters.map((x) => x.name)).toEqual(['f']);
    expect(snap.jobs.map((j) => j.id)).toEqual([1]);
    expect(snap.events.some((e) => e.message === 'hello')).toBe(true);
  });
});
