// cost-report's arithmetic on the real store: a cluster is billed from launch and from each start
// until it stops or is torn down; torn-down incarnations stay in the report; the dashboard header
// counts cloud clusters that are billed (UP or INIT).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { costRow } from '../../src/daemon/cost.js';
import { migrate, openDatabase } from '../../src/daemon/db.js';
import { Store } from '../../src/daemon/store.js';
import type { ClusterRecord } from '../../src/protocol/model.js';
import { onceText } from '../../src/tui/once.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 1, 8, 0, 0);

const rec = (name: string, o: Partial<ClusterRecord>): ClusterRecord => ({
  name,
  uid: `${name}-1`,
  status: 'INIT',
  cloud: 'gcp',
  region: 'us-central1',
  zone: 'us-central1-a',
  infra: 'gcp/us-central1/us-central1-a',
  numNodes: 2,
  instanceType: 'n2-standard-8',
  resources: '2x(n2-standard-8, cpus=8, mem=32GiB)',
  useSpot: false,
  hourlyPrice: 0.77694, // 2 × n2-standard-8 in us-central1 (the catalog's 0.38847)
  launchedAt: T0,
  updatedAt: T0,
  ...o,
});

function report(store: Store, now: number) {
  const live = new Set(store.listClusters().map((c) => c.uid));
  const rows = store.clusterHistory(0).map((h) => costRow(live.has(h.record.uid) ? store.getCluster(h.record.name)! : h.record, h.intervals, h.endedAt, live.has(h.record.uid), now));
  return { rows, total: rows.reduce((a, r) => a + r.cost, 0) };
}

describe('cost-report', () => {
  let dir: string | undefined;
  afterEach(() => {
    vi.useRealTimers();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('bills launch → stop and start → down, keeps torn-down clusters, and totals', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    dir = mkdtempSync(join(tmpdir(), 'aloft-cost-'));
    const store = new Store(openDatabase(join(dir, 'state.db')));
    vi.setSystemTime(T0);
    store.putCluster(rec('train', {})); // provisioning is billed
    vi.setSystemTime(T0 + 0.25 * H);
    store.updateCluster('train', { status: 'UP' });
    vi.setSystemTime(T0 + 1 * H);
    store.updateCluster('train', { status: 'STOPPED' }); // 1 h so far
    vi.setSystemTime(T0 + 3 * H);
    store.updateCluster('train', { status: 'INIT' }); // aloft start
    vi.setSystemTime(T0 + 3.1 * H);
    store.updateCluster('train', { status: 'UP' });
    vi.setSystemTime(T0 + 3.5 * H);
    store.removeCluster('train'); // + 0.5 h = 1.5 h
    // A second incarnation of the same name, and another cluster still up.
    vi.setSystemTime(T0 + 4 * H);
    store.putCluster(rec('train', { uid: 'train-2', hourlyPrice: 1, numNodes: 1, launchedAt: T0 + 4 * H }));
    store.putCluster(rec('serve', { status: 'UP', uid: 'serve-1', hourlyPrice: 0.5, useSpot: true, launchedAt: T0 + 4 * H }));
    const now = T0 + 6 * H;
    const { rows, total } = report(store, now);
    expect(rows.map((r) => [r.name, r.uid, r.status, +r.hours.toFixed(6), r.hourlyPrice, +r.cost.toFixed(6)])).toEqual([
      ['train', 'train-1', 'TERMINATED', 1.5, 0.77694, 1.16541],
      ['train', 'train-2', 'INIT', 2, 1, 2],
      ['serve', 'serve-1', 'UP', 2, 0.5, 1],
    ]);
    expect(rows[0]!.endedAt).toBe(T0 + 3.5 * H);
    expect(+total.toFixed(6)).toBe(4.16541);
    // Another store on the same file (a daemon restart) sees the same history.
    const again = new Store(openDatabase(join(dir, 'state.db')));
    expect(+report(again, now).total.toFixed(6)).toBe(4.16541);
  });

  it('a database from before the history table bills the clusters it had from their launch', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    dir = mkdtempSync(join(tmpdir(), 'aloft-cost-'));
    const path = join(dir, 'state.db');
    const db = new Database(path);
    // The schema just before the migration that adds cluster_history (cost-report's).
    const hasHistory = () => !!db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'cluster_history'").get();
    for (let v = 1; !hasHistory(); v++) migrate(db, v);
    db.exec('DROP TABLE cluster_history');
    db.pragma(`user_version = ${(db.pragma('user_version', { simple: true }) as number) - 1}`);
    const up = rec('old', { status: 'UP', uid: 'old-1', hourlyPrice: 2, launchedAt: T0 });
    db.prepare('INSERT INTO clusters (name, uid, status, record, updated_at) VALUES (?, ?, ?, ?, ?)').run('old', 'old-1', 'UP', JSON.stringify(up), T0);
    db.close();
    vi.setSystemTime(T0 + 2 * H);
    const store = new Store(openDatabase(path));
    const { rows } = report(store, T0 + 3 * H);
    expect(rows.map((r) => [r.name, +r.hours.toFixed(6), +r.cost.toFixed(6)])).toEqual([['old', 3, 6]]);
  });

  it('the dashboard header counts what cloud clusters bill now (UP and INIT, not STOPPED)', () => {
    const clusters = [
      rec('a', { status: 'UP', uid: 'a', hourlyPrice: 0.85 }),
      rec('b', { status: 'INIT', uid: 'b', hourlyPrice: 0.15 }),
      rec('c', { status: 'STOPPED', uid: 'c', hourlyPrice: 5 }),
    ];
    const text = onceText({ seq: 1, clusters, jobs: [], requests: [], managed: [], events: [] }, { home: '/h' });
    expect(text.split('\n')[0]).toContain('$1.00/hr');
  });
});
