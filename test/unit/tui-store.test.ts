import { describe, expect, test } from 'vitest';
import type { EventStreamMessage } from '../../src/protocol/api.js';
import { emptyData, jobsOfCluster, reduce, TIMELINE_LIMIT, type TuiData } from '../../src/tui/state/reducer.js';
import { TuiStore } from '../../src/tui/state/store.js';
import { parseKeymap, loadKeymap } from '../../src/tui/keys/keymap-file.js';
import { indexKeymap, keyName } from '../../src/tui/keys/commands.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cluster, ev, FakeFeed, job, request, snapshot } from '../helpers/tui-harness.js';

const apply = (s: TuiData, ...messages: EventStreamMessage[]) => reduce(s, { type: 'messages', messages });
const E = (e: Parameters<typeof ev>[0]): EventStreamMessage => ({ type: 'event', event: ev(e) });

describe('reducer', () => {
  test('snapshot then events in seq order', () => {
    const c1 = cluster('c1', { status: 'INIT' });
    let s = apply(emptyData(), { type: 'snapshot', snapshot: snapshot({ seq: 10, clusters: [c1] }) });
    expect(s.loaded).toBe(true);
    expect(s.seq).toBe(10);
    s = apply(s, E({ seq: 11, kind: 'cluster', cluster: { ...c1, status: 'UP' } }), E({ seq: 12, kind: 'job', job: job(c1, 1) }));
    expect(s.seq).toBe(12);
    expect(s.clusters.get('c1')!.status).toBe('UP');
    expect(jobsOfCluster(s, 'c1').map((j) => j.id)).toEqual([1]);
    expect(s.timeline.map((e) => e.seq)).toEqual([11, 12]);
  });

  test('events at or below the last seq are ignored', () => {
    const c1 = cluster('c1');
    let s = apply(emptyData(), { type: 'snapshot', snapshot: snapshot({ seq: 5, clusters: [c1] }) });
    const before = s;
    s = apply(s, E({ seq: 5, kind: 'cluster', cluster: { ...c1, status: 'STOPPED' } }), E({ seq: 3, kind: 'cluster-removed', name: 'c1' }));
    expect(s).toBe(before);
  });

  test('reconnect with an overlapping replay: no lost or duplicated rows', () => {
    const c1 = cluster('c1');
    const c2 = cluster('c2');
    const events = [
      E({ seq: 2, kind: 'cluster', cluster: c2 }),
      E({ seq: 3, kind: 'job', job: job(c1, 1, { status: 'PENDING' }) }),
      E({ seq: 4, kind: 'job', job: job(c1, 1, { status: 'RUNNING' }) }),
      E({ seq: 5, kind: 'request', request: request('r1', { cluster: 'c2' }) }),
      E({ seq: 6, kind: 'notice', message: 'autostop armed', name: 'c1' }),
      E({ seq: 7, kind: 'job', job: job(c1, 1, { status: 'SUCCEEDED' }) }),
    ];
    let s = apply(emptyData(), { type: 'snapshot', snapshot: snapshot({ seq: 1, clusters: [c1] }) }, ...events.slice(0, 4));
    // the daemon restarted; the client resumes from 5 but the daemon replays from 3
    s = reduce(s, { type: 'connection', state: 'reconnecting' });
    expect(s.connection).toBe('reconnecting');
    s = apply(s, ...events.slice(1));
    s = reduce(s, { type: 'connection', state: 'connected' });
    expect(s.seq).toBe(7);
    expect([...s.clusters.keys()].sort()).toEqual(['c1', 'c2']);
    expect(jobsOfCluster(s, 'c1').map((j) => `${j.id}:${j.status}`)).toEqual(['1:SUCCEEDED']);
    expect(s.requests.size).toBe(1);
    const seqs = s.timeline.map((e) => e.seq);
    expect(seqs).toEqual([2, 3, 4, 5, 6, 7]);
    // and when the daemon answers the resume with a fresh snapshot, the timeline keeps its lines once
    s = apply(s, {
      type: 'snapshot',
      snapshot: snapshot({ seq: 8, clusters: [c1], events: [ev({ seq: 6, kind: 'notice', message: 'autostop armed' }), ev({ seq: 8, kind: 'cluster-removed', name: 'c2' })] }),
    });
    expect(s.timeline.map((e) => e.seq)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect([...s.clusters.keys()]).toEqual(['c1']);
  });

  test('removing a cluster drops its jobs; a new incarnation starts clean', () => {
    const old = cluster('c');
    let s = apply(emptyData(), { type: 'snapshot', snapshot: snapshot({ seq: 1, clusters: [old], jobs: [job(old, 1), job(old, 2)] }) });
    expect(jobsOfCluster(s, 'c')).toHaveLength(2);
    const again = cluster('c');
    s = apply(s, E({ seq: 2, kind: 'cluster', cluster: again }));
    expect(jobsOfCluster(s, 'c')).toHaveLength(0);
    s = apply(s, E({ seq: 3, kind: 'job', job: job(again, 1) }), E({ seq: 4, kind: 'cluster-removed', name: 'c' }));
    expect(s.clusters.size).toBe(0);
    expect(s.jobs.size).toBe(0);
  });

  test('snapshot timeline drops repeated progress lines of a request', () => {
    const r = request('r1');
    const s = apply(emptyData(), {
      type: 'snapshot',
      snapshot: snapshot({
        seq: 5,
        events: [
          ev({ seq: 1, kind: 'request', request: { ...r, stage: 'OPTIMIZE' } }),
          ev({ seq: 2, kind: 'request', request: { ...r, stage: 'OPTIMIZE' } }),
          ev({ seq: 3, kind: 'request', request: { ...r, stage: 'PROVISION' } }),
          ev({ seq: 4, kind: 'request', request: { ...r, stage: 'PROVISION', status: 'SUCCEEDED' } }),
        ],
      }),
    });
    expect(s.timeline.map((e) => e.seq)).toEqual([1, 3, 4]);
  });

  test('timeline keeps status changes only and stays bounded', () => {
    const c = cluster('c');
    let s = apply(emptyData(), { type: 'snapshot', snapshot: snapshot({ seq: 0 }) });
    const msgs: EventStreamMessage[] = [];
    for (let i = 1; i <= TIMELINE_LIMIT + 500; i++) msgs.push(E({ seq: i, kind: 'notice', message: `n${i}` }));
    msgs.push(E({ seq: 5000, kind: 'cluster', cluster: c }), E({ seq: 5001, kind: 'cluster', cluster: { ...c, updatedAt: 1 } }));
    s = apply(s, ...msgs);
    expect(s.timeline.length).toBe(TIMELINE_LIMIT);
    expect(s.timeline[s.timeline.length - 1]!.seq).toBe(5000);
  });
});

describe('store', () => {
  test('batches messages into one change per flush and resumes from its seq', async () => {
    const feed = new FakeFeed();
    const store = new TuiStore(20);
    let changes = 0;
    store.subscribe(() => changes++);
    store.connect(feed.subscribe);
    expect(feed.subs[0]!.since).toBe(0);
    feed.snapshot(snapshot({ seq: 1 }));
    for (let i = 2; i < 200; i++) feed.event(ev({ seq: i, kind: 'cluster', cluster: cluster(`c${i}`) }));
    expect(store.getSnapshot().seq).toBe(0);
    await new Promise((r) => setTimeout(r, 40));
    expect(changes).toBe(1);
    expect(store.getSnapshot().clusters.size).toBe(198);
    // a new subscription (e.g. after the dashboard came back) resumes after what we have
    store.connect(feed.subscribe);
    expect(feed.subs[0]!.closed).toBe(true);
    expect(feed.subs[1]!.since).toBe(199);
    feed.connection('reconnecting', 'ECONNREFUSED');
    expect(store.getSnapshot().connection).toBe('reconnecting');
    expect(store.getSnapshot().connectionDetail).toBe('ECONNREFUSED');
    store.close();
  });
});

// The log ring and its window are tested in tui-logs.test.tsx.

describe('keymap', () => {
  test('keymap.yaml rebinds commands', () => {
    const km = parseKeymap('nav.down: x\ncluster.down: [Ctrl-X, "D"]\n');
    expect(km.get('nav.down')).toEqual(['x']);
    expect(km.get('cluster.down')).toEqual(['ctrl+x', 'D']);
    expect(km.get('nav.up')).toEqual(['up', 'k']);
    expect(indexKeymap(km).get('ctrl+x')).toEqual(['cluster.down']);
  });
  test('mistakes are one clear line', () => {
    expect(() => parseKeymap('nav.sideways: x')).toThrow(/unknown command "nav.sideways"/);
    expect(() => parseKeymap('nav.up: [true, 2]')).toThrow(/must be a key/);
    expect(() => parseKeymap('nav.up: 12')).toThrow(/must be a key/);
    // a bare digit is that key (YAML reads it as a number)
    expect(parseKeymap('logs.rankAll: 5\nlogs.rank5: 0').get('logs.rankAll')).toEqual(['5']);
    expect(() => parseKeymap('nav.up: [')).toThrow(/not valid YAML/);
  });
  test('loaded from ALOFT_HOME, defaults without a file', () => {
    const home = mkdtempSync(join(tmpdir(), 'aloft-km-'));
    expect(loadKeymap(home).get('app.quit')).toEqual(['q', 'ctrl+c']);
    writeFileSync(join(home, 'keymap.yaml'), 'app.quit: Q\n');
    expect(loadKeymap(home).get('app.quit')).toEqual(['Q']);
  });
  test('key names', () => {
    expect(keyName('d', { ctrl: true })).toBe('ctrl+d');
    expect(keyName('', { escape: true })).toBe('esc');
    expect(keyName('G', { shift: true })).toBe('G');
    expect(keyName('', { upArrow: true })).toBe('up');
  });
});
