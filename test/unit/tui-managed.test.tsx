// Managed jobs in `aloft top`: the reducer keeps them, the Managed jobs view shows and acts on
// them, logs follow them across recoveries, the header counts them, events narrate them.
import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import type { EventStreamMessage } from '../../src/protocol/api.js';
import type { ManagedJobRecord } from '../../src/protocol/model.js';
import { statusColour } from '../../src/tui/render/colors.js';
import { eventRow, MANAGED_COLUMNS, managedDetail, managedRow } from '../../src/tui/render/rows.js';
import { columnWidths, rowSegments } from '../../src/tui/render/table.js';
import { managedComparator } from '../../src/tui/render/sort.js';
import { parsePalette } from '../../src/tui/state/nav.js';
import { emptyData, reduce, type TuiData } from '../../src/tui/state/reducer.js';
import { cluster, ev, KEY, managed, renderTop, snapshot } from '../helpers/tui-harness.js';

afterEach(() => cleanup());

const apply = (s: TuiData, ...messages: EventStreamMessage[]) => reduce(s, { type: 'messages', messages });
const E = (e: Parameters<typeof ev>[0]): EventStreamMessage => ({ type: 'event', event: ev(e) });

/** A RUNNING job preempted, then running again on a new cluster: what the controller records. */
function recovering(m: ManagedJobRecord): ManagedJobRecord {
  const now = Date.now();
  return {
    ...m,
    status: 'RECOVERING',
    recoveries: m.recoveries + 1,
    jobDurationMs: m.jobDurationMs + 30_000,
    runningSince: undefined,
    attempts: [{ ...m.attempts[0]!, endedAt: now, outcome: 'preempted' }],
  };
}
/** The controller relaunches on a cluster of the same name (mj-ID) with a new attempt. */
function recovered(m: ManagedJobRecord): ManagedJobRecord {
  const cluster = m.cluster!;
  return { ...m, status: 'RUNNING', runningSince: Date.now(), attempts: [...m.attempts, { cluster, startedAt: Date.now() }] };
}

const three = () => {
  const now = Date.now();
  const run = managed({ id: 1, name: 'train', submittedAt: now - 125_000, runningSince: now - 100_000, jobDurationMs: 20_000 });
  const done = managed({ id: 2, name: 'eval', status: 'SUCCEEDED', endedAt: now - 10_000, runningSince: undefined, jobDurationMs: 60_000, cluster: 'mj-2' });
  const bad = managed({
    id: 3,
    name: 'sweep',
    status: 'FAILED_NO_RESOURCE',
    endedAt: now - 5_000,
    runningSince: undefined,
    failureReason: 'no spot capacity after 5 tries',
    recoveries: 2,
  });
  return { run, done, bad, snap: snapshot({ seq: 20, clusters: [cluster('mj-1')], managed: [bad, done, run] }) };
};

/** Rows of the managed table (ANSI-free frames), by their leading ID. */
function managedLines(frame: string, id: number): string[] {
  return frame.split('\n').filter((l) => new RegExp(`^[▸ ] +${id} +\\S`).test(l));
}

describe('reducer: managed jobs', () => {
  test('kept from the snapshot, updated by events, no duplicates, replays ignored', () => {
    const { run, done, snap } = three();
    let s = apply(emptyData(), { type: 'snapshot', snapshot: snap });
    expect([...s.managed.keys()].sort()).toEqual([1, 2, 3]);
    const rec = recovering(run);
    s = apply(s, E({ seq: 21, kind: 'managed', managed: rec }), E({ seq: 22, kind: 'managed', managed: recovered(rec) }));
    expect(s.managed.size).toBe(3);
    expect(s.managed.get(1)).toMatchObject({ status: 'RUNNING', recoveries: 1, cluster: 'mj-1' });
    expect(s.managed.get(1)!.attempts).toHaveLength(2);
    expect(s.timeline.map((e) => e.seq)).toEqual([21, 22]);
    // a daemon restart replays what we already applied: nothing moves back
    const before = s;
    s = apply(s, E({ seq: 21, kind: 'managed', managed: rec }), E({ seq: 22, kind: 'managed', managed: recovered(rec) }));
    expect(s).toBe(before);
    // an update that changes nothing worth a line (durations tick) is kept but not narrated
    s = apply(s, E({ seq: 23, kind: 'managed', managed: { ...s.managed.get(1)!, jobDurationMs: 99 } }));
    expect(s.managed.get(1)!.jobDurationMs).toBe(99);
    expect(s.timeline.map((e) => e.seq)).toEqual([21, 22]);
    // a new job appears
    s = apply(s, E({ seq: 24, kind: 'managed', managed: managed({ id: 4, status: 'PENDING' }) }));
    expect(s.managed.size).toBe(4);
    // a fresh snapshot is the truth: it replaces the set (and a daemon without managed jobs sends none)
    s = apply(s, { type: 'snapshot', snapshot: snapshot({ seq: 30, managed: [done] }) });
    expect([...s.managed.keys()]).toEqual([2]);
    s = apply(s, { type: 'snapshot', snapshot: snapshot({ seq: 31 }) });
    expect(s.managed.size).toBe(0);
  });
});

describe('render: managed jobs', () => {
  test('status colours come from the one function', () => {
    expect(statusColour('RECOVERING')).toBe('yellow');
    expect(statusColour('STARTING')).toBe('yellow');
    expect(statusColour('PENDING')).toBe('yellow');
    expect(statusColour('RUNNING')).toBe(statusColour('UP'));
    expect(statusColour('SUCCEEDED')).toBe('blue');
    for (const s of ['FAILED', 'FAILED_SETUP', 'FAILED_NO_RESOURCE', 'FAILED_CONTROLLER']) expect(statusColour(s)).toBe('red');
    expect(statusColour('CANCELLED')).toBe('gray');
    expect(statusColour('CANCELLING')).toBe('gray');
  });

  test('row: durations over all attempts, the cluster only while it lives', () => {
    const now = 1_000_000;
    const m = managed({ id: 7, name: 'x', submittedAt: now - 125_000, jobDurationMs: 30_000, runningSince: now - 15_000, recoveries: 1, cluster: 'mj-7b' });
    const r = managedRow(m, now);
    expect(r.cells).toEqual(['7', 'x', '1x[CPU:1] spot', '2m05s ago', '2m05s', '45s', '1', 'RUNNING', 'mj-7b']);
    expect(r.colour).toBe('green');
    const ended = managedRow({ ...m, status: 'CANCELLED', endedAt: now - 5_000, runningSince: undefined }, now);
    expect(ended.cells.slice(4)).toEqual(['2m00s', '30s', '1', 'CANCELLED', '-']);
    expect(ended.colour).toBe('gray');
    const d = managedDetail({ ...recovering(m), maxRestartsOnErrors: 3, restartsOnErrors: 1 });
    expect(d).toBe('7 (x) · RECOVERING · spot · EAGER_NEXT_REGION · restarts on errors 1/3 · attempts mj-7b (preempted)');
  });

  test('the detail line shows a pipeline\'s task progress', () => {
    const d = managedDetail(managed({ id: 21, name: 'pipe', numTasks: 4, taskIndex: 1, taskNames: ['prep', 'train', 'eval', 'export'] }));
    expect(d).toContain('pipeline task 2/4 (train)');
  });

  test('on an 80-column terminal the long numeric titles give way, STATUS and CLUSTER keep their room', () => {
    const now = Date.now();
    // Times pinned to `now`: the builder's own Date.now() may be a millisecond later.
    const at = { submittedAt: now - 120_000, startedAt: now - 100_000, runningSince: now - 100_000 };
    const rows = [
      managedRow(managed({ id: 12, name: 'finetune-llama', status: 'FAILED_NO_RESOURCE', endedAt: now, ...at }), now),
      managedRow(managed({ id: 13, status: 'RECOVERING', recoveries: 2, ...at }), now),
    ];
    const widths = columnWidths(MANAGED_COLUMNS, rows, 77);
    expect(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1)).toBeLessThanOrEqual(77);
    const line = rowSegments(MANAGED_COLUMNS, widths, rows[1]!).map((x) => x.text).join('');
    expect(line).toMatch(/2\s+RECOVERING\s+mj-13\s*$/);
    expect(line).toContain('2m00s ago');
  });

  test('sort by age, name, status', () => {
    const { run, done, bad } = three();
    const ids = (k: 'age' | 'name' | 'status') => [run, done, bad].sort(managedComparator(k)).map((m) => m.id);
    expect(ids('name')).toEqual([2, 3, 1]);
    expect(ids('status')).toEqual([1, 3, 2]);
    expect(ids('age')).toEqual([3, 2, 1]);
  });

  test('events: managed state changes and notices with their level colour', () => {
    const m = recovering(managed({ id: 5, name: 'ft' }));
    const row = eventRow(ev({ kind: 'managed', managed: m }));
    expect(row.cells.slice(1)).toEqual(['managed', '5 (ft)', 'RECOVERING (recovery 1)']);
    expect(eventRow(ev({ kind: 'managed', managed: recovered(m) })).cells[3]).toBe('RUNNING (recovery 1) on mj-5');
    expect(row.colour).toBe('yellow');
    const pre = eventRow(ev({ kind: 'notice', level: 'warn', name: 'mj-5', message: 'cluster mj-5: spot node(s) preempted' }));
    expect(pre.colour).toBe('yellow');
    expect(pre.colourCol).toBe(3);
    const fail = eventRow(ev({ kind: 'notice', level: 'error', message: 'managed job 5 (ft): FAILED_NO_RESOURCE' }));
    expect(fail.colour).toBe('red');
  });

  test(':managed in the palette', () => {
    expect(parsePalette('managed')).toEqual({ views: [{ kind: 'managed' }] });
    expect(parsePalette('mj 4')).toEqual({ views: [{ kind: 'managed' }, { kind: 'managed-logs', id: 4 }] });
    expect(parsePalette('managed x')).toEqual({ error: 'usage: :managed [ID]' });
  });
});

describe('managed jobs view', () => {
  test('rows from the snapshot; M from clusters and :managed open it; filter and sort', async () => {
    const h = renderTop({ snapshot: three().snap, columns: 140 });
    await h.waitFor('mj-1');
    await h.press('M');
    let f = await h.waitFor('clusters › managed');
    expect(f).toMatch(/ID\s+NAME\s+RESOURCES\s+SUBMITTED↑\s+TOT\. DURATION\s+JOB DURATION\s+#RECOVERIES\s+STATUS\s+CLUSTER/);
    expect(f).toMatch(/1\s+train\s+1x\[CPU:1\] spot\s+2m0\ds ago\s+2m0\ds\s+2m0\ds\s+0\s+RUNNING\s+mj-1/);
    expect(f).toMatch(/2\s+eval\s+.*\s+1m00s\s+0\s+SUCCEEDED\s+-/);
    expect(f).toMatch(/3\s+sweep\s+.*\s+2\s+FAILED_NO_RESOURCE\s+-/);
    expect(f).toContain('sort:age');
    // the selected job's detail line (newest first: job 3)
    expect(f).toContain('3 (sweep) · FAILED_NO_RESOURCE: no spot capacity after 5 tries');
    await h.press('/');
    await h.type('eva');
    f = h.frame();
    expect(managedLines(f, 2)).toHaveLength(1);
    expect(managedLines(f, 1)).toHaveLength(0);
    await h.press(KEY.enter, KEY.esc);
    await h.waitFor((fr) => managedLines(fr, 1).length === 1);
    await h.press('S');
    f = await h.waitFor('sort:status');
    const order = f.split('\n').map((l) => l.match(/^[▸ ] +(\d) +\S/)?.[1]).filter(Boolean);
    expect(order).toEqual(['1', '3', '2']);
    // the palette opens it too
    await h.command('managed');
    await h.waitFor(/^managed\s+sort:age/m);
  });

  test('follows managed events: RUNNING → RECOVERING → RUNNING with one recovery', async () => {
    const { run, snap } = three();
    const h = renderTop({ snapshot: snap, columns: 140 });
    await h.waitFor('mj-1');
    await h.press('M');
    await h.waitFor('train');
    await h.press('G');
    const rec = recovering(run);
    h.feed.event(ev({ seq: 21, kind: 'managed', managed: rec }));
    let f = await h.waitFor(/1\s+train\s+.*\s+1\s+RECOVERING/);
    expect(f).toContain('1 (train) · RECOVERING · spot · EAGER_NEXT_REGION · attempts mj-1 (preempted)');
    expect(managedLines(f, 1)).toHaveLength(1);
    expect(f).toContain('managed: 1 recovering');
    h.feed.event(ev({ seq: 22, kind: 'managed', managed: recovered(rec) }));
    f = await h.waitFor(/1\s+train\s+.*\s+1\s+RUNNING\s+mj-1/);
    expect(managedLines(f, 1)).toHaveLength(1);
    expect(f).toContain('managed: 1 running');
    // a replay of the older event after a reconnect does not move it back
    h.feed.event(ev({ seq: 21, kind: 'managed', managed: rec }));
    await new Promise((r) => setTimeout(r, 30));
    expect(h.frame()).toMatch(/1\s+train\s+.*\s+1\s+RUNNING\s+mj-1/);
    expect(h.frame()).toContain('attempts mj-1 (preempted) → mj-1 (live)');
  });

  test('ctrl-k asks with the focus on Cancel; jobsCancel only on confirm', async () => {
    const h = renderTop({ snapshot: three().snap, columns: 140, handlers: { jobsCancel: (p) => ({ cancelled: p.ids ?? [] }) } });
    await h.waitFor('mj-1');
    await h.press('M');
    await h.waitFor('train');
    await h.press('G'); // job 1, the running one
    await h.press(KEY.ctrlK);
    let f = await h.waitFor('Cancel managed job 1 (train)?');
    expect(f).toContain('It is RUNNING on mj-1');
    expect(f).toContain('[ Cancel ]');
    expect(f).not.toContain('[ Cancel job ]');
    // the dialog wins over the table
    await h.press('j', 'k', 'p');
    expect(h.frame()).toContain('Cancel managed job 1 (train)?');
    await h.press(KEY.enter);
    await h.waitFor('cancel job: cancelled');
    expect(h.client.calls).toEqual([]);
    await h.press(KEY.ctrlK);
    await h.waitFor('Cancel managed job 1 (train)?');
    await h.press(KEY.right, KEY.enter);
    await h.waitFor('cancelling managed job 1');
    expect(h.client.calls).toEqual([{ method: 'jobsCancel', params: { ids: [1] } }]);
    // finished jobs are not offered a cancel
    await h.press('g', KEY.ctrlK);
    await h.waitFor('managed job 3 already FAILED_NO_RESOURCE');
    f = h.frame();
    expect(f).not.toContain('Cancel managed job 3');
    expect(h.client.calls).toHaveLength(1);
  });

  test('enter / l: the logs of the managed job across recoveries', async () => {
    const { run, snap } = three();
    const h = renderTop({ snapshot: snap, columns: 140 });
    await h.waitFor('mj-1');
    await h.press('M');
    await h.waitFor('train');
    await h.press('G', KEY.enter);
    await h.waitFor('clusters › managed › logs(managed/1)');
    expect(h.client.managedLogs.map((s) => s.q)).toEqual([{ id: 1, follow: true }]);
    expect(h.client.logs).toEqual([]);
    const s = h.client.managedLogs[0]!;
    s.push('(aloft) attempt 1 on mj-1: preempted\nstep 1\nstep 2\n');
    await h.waitFor('step 2');
    const rec = recovering(run);
    h.feed.event(ev({ seq: 21, kind: 'managed', managed: rec }));
    await h.waitFor('RECOVERING · recoveries 1');
    h.feed.event(ev({ seq: 22, kind: 'managed', managed: recovered(rec) }));
    await h.waitFor('RUNNING on mj-1 · recoveries 1');
    s.push('(aloft) attempt 2 on mj-1\nstep 3 (resumed)\n');
    await h.waitFor('step 3 (resumed)');
    h.feed.event(ev({ seq: 23, kind: 'managed', managed: { ...recovered(rec), status: 'SUCCEEDED', endedAt: Date.now() } }));
    await h.waitFor('· SUCCEEDED');
    s.end();
    await h.waitFor('end of log: managed job 1 SUCCEEDED');
    await h.press(KEY.esc);
    await h.waitFor((fr) => !fr.includes('logs(managed/1)'));
    expect(s.aborted).toBe(true);
    // l does the same
    await h.press('l');
    await h.waitFor('logs(managed/1)');
    expect(h.client.managedLogs).toHaveLength(2);
  });

  test('without a managed-logs source the logs view says so in one line', async () => {
    const h = renderTop({ snapshot: three().snap, columns: 140, deps: { streamManagedLogs: undefined } });
    await h.waitFor('mj-1');
    await h.command('managed 1');
    await h.waitFor('log stream failed: managed job logs are not available here');
  });

  test('? lists the view’s actions', async () => {
    const h = renderTop({ snapshot: three().snap, rows: 45, columns: 140 });
    await h.waitFor('mj-1');
    await h.press('M');
    await h.waitFor('train');
    await h.press('?');
    const f = await h.waitFor('Help');
    expect(f).toContain('managed jobs');
    for (const id of ['nav.enter', 'view.logs', 'job.cancel', 'sort.name', 'sort.age', 'sort.status', 'filter.open', 'nav.back', 'app.quit']) {
      expect(f, id).toContain(id);
    }
    expect(f).not.toContain('cluster.down');
    expect(f).not.toContain('view.managed');
    await h.press(KEY.esc);
    // the hint bar offers logs and cancel
    await h.waitFor(/l logs\s+\^K cancel job/);
  });
});

describe('header', () => {
  test('infra available from the daemon, managed jobs by state', async () => {
    const { run, snap } = three();
    const starting = managed({ id: 4, status: 'STARTING', runningSince: undefined });
    const h = renderTop({
      snapshot: { ...snap, managed: [...snap.managed!, starting, managed({ id: 5 })] },
      columns: 160,
      deps: { info: { version: '9.9.9', apiVersion: 'v1', pid: 1, socket: '/s', home: '/h', startedAt: 0, uptimeSeconds: 1, infra: ['local', 'ssh'] } },
    });
    let f = await h.waitFor('mj-1');
    expect(f).toContain('infra available: local, ssh');
    expect(f).toContain('managed: 1 starting, 2 running');
    h.feed.event(ev({ seq: 21, kind: 'managed', managed: recovering(run) }));
    f = await h.waitFor('managed: 1 starting, 1 running, 1 recovering');
    // finished jobs are not counted; with none active the header says so
    for (const [i, id] of [1, 4, 5].entries()) {
      h.feed.event(ev({ seq: 22 + i, kind: 'managed', managed: managed({ id, status: 'SUCCEEDED', endedAt: Date.now() }) }));
    }
    await h.waitFor('managed: idle');
  });

  test('without info.infra: the clouds of the clusters, as before; no managed jobs, no managed section', async () => {
    const h = renderTop({ snapshot: snapshot({ clusters: [cluster('a', { cloud: 'local' }), cluster('b', { cloud: 'ssh' })] }) });
    const f = await h.waitFor('infra local, ssh');
    expect(f).not.toContain('infra available');
    expect(f).not.toContain('managed');
  });

  test('an empty infra list reads "none"', async () => {
    const h = renderTop({
      snapshot: snapshot({ clusters: [cluster('a')] }),
      deps: { info: { version: '1', apiVersion: 'v1', pid: 1, socket: '/s', home: '/h', startedAt: 0, uptimeSeconds: 1, infra: [] } },
    });
    await h.waitFor('infra available: none');
  });
});

describe('events view: managed jobs', () => {
  test('preemption and recovery notices and managed changes in the timeline; enter opens the job', async () => {
    const { run, snap } = three();
    const h = renderTop({ snapshot: snap, columns: 140 });
    await h.waitFor('mj-1');
    await h.command('events');
    await h.waitFor('no events yet');
    const rec = recovering(run);
    h.feed.event(ev({ seq: 21, kind: 'notice', level: 'warn', name: 'mj-1', message: 'cluster mj-1: spot node(s) preempted' }));
    h.feed.event(ev({ seq: 22, kind: 'managed', managed: rec }));
    h.feed.event(ev({ seq: 23, kind: 'notice', level: 'warn', name: 'mj-1', message: 'managed job 1 (train): preempted; recovering (recovery 1)' }));
    h.feed.event(ev({ seq: 24, kind: 'managed', managed: recovered(rec) }));
    h.feed.event(ev({ seq: 25, kind: 'notice', level: 'info', name: 'mj-1', message: 'managed job 1 (train): recovered, running again on mj-1' }));
    const f = await h.waitFor('recovered, running again on mj-1');
    const lines = f.split('\n');
    const at = (s: string) => lines.findIndex((l) => l.includes(s));
    expect(at('running again')).toBeLessThan(at('RUNNING (recovery 1) on mj-1'));
    expect(at('RUNNING (recovery 1)')).toBeLessThan(at('preempted; recovering (recovery 1)'));
    expect(at('preempted; recovering')).toBeLessThan(at('RECOVERING (recovery 1)'));
    expect(at('RECOVERING (recovery 1)')).toBeLessThan(at('spot node(s) preempted'));
    expect(lines[at('RECOVERING (recovery 1)')]).toMatch(/managed\s+1 \(train\)/);
    // enter on a managed line opens the managed view on that job
    await h.press('j', KEY.enter);
    const g = await h.waitFor('events › managed');
    expect(g.split('\n').find((l) => l.startsWith('▸'))).toMatch(/^▸ +1 +train/);
  });
});
