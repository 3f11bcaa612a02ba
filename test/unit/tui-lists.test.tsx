// Issue 16.1 and 16.6 on the lists: every cluster's jobs in one view, LAST JOB showing running
// work first, a stop/down status line that clears when the request is done, and dialogs that
// keep their title and buttons on an 80x12 terminal.
import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { confirmLayout } from '../../src/tui/components/Dialogs.js';
import { cluster, ev, job, KEY, renderTop, request, snapshot } from '../helpers/tui-harness.js';

afterEach(() => cleanup());

const plain = (f: string) => f.replace(/\u001B\[[0-9;]*m/g, '');

describe('all jobs (:jobs with no cluster)', () => {
  const world = () => {
    const a = cluster('alpha', { lastJobId: 3 });
    const b = cluster('bravo', { lastJobId: 1 });
    const now = Date.now();
    return snapshot({
      seq: 10,
      clusters: [a, b],
      jobs: [
        job(a, 1, { status: 'SUCCEEDED', name: 'prep', submittedAt: now - 300_000 }),
        job(a, 3, { status: 'RUNNING', name: 'train', submittedAt: now - 60_000 }),
        job(b, 1, { status: 'FAILED', exitCode: 2, name: 'eval', submittedAt: now - 120_000 }),
        // a job of an earlier incarnation of bravo is not listed
        { ...job(b, 9, { name: 'ghost' }), clusterUid: 'old-uid' },
      ],
    });
  };

  test('lists every cluster’s jobs with their cluster, newest first; filter, sort, enter, ^K', async () => {
    const h = renderTop({ snapshot: world(), handlers: { cancel: (p) => ({ cancelled: p.jobIds ?? [] }) }, columns: 120 });
    await h.waitFor('alpha');
    await h.command('jobs');
    let f = await h.waitFor('jobs(all)');
    expect(f).toMatch(/^jobs\(all\) sort:age↑/m);
    expect(f).toContain('all clusters · 3 jobs (1 active)');
    expect(f).toMatch(/ID\s+CLUSTER\s+NAME\s+SUBMITTED↑\s+DURATION\s+RESOURCES\s+STATUS/);
    const order = (fr: string) => fr.split('\n').map((l) => /^[▸ ] +(\d+) +(\w+) +(\w+)/.exec(l)).filter(Boolean).map((m) => `${m![2]}/${m![1]}`);
    expect(order(f)).toEqual(['alpha/3', 'bravo/1', 'alpha/1']);
    expect(f).not.toContain('ghost');
    await h.press('S');
    f = await h.waitFor('sort:status↑');
    expect(order(f)).toEqual(['alpha/3', 'bravo/1', 'alpha/1']);
    await h.press('/');
    await h.type('bravo');
    f = await h.waitFor('/bravo');
    expect(order(f)).toEqual(['bravo/1']);
    await h.press(KEY.enter, KEY.enter);
    await h.waitFor('jobs(all) › logs(bravo/1)');
    expect(h.client.logs[0]!.q).toEqual({ cluster: 'bravo', job: 1, follow: true });
    await h.press(KEY.esc);
    await h.waitFor((fr) => !fr.includes('logs('));
    await h.press(KEY.esc);
    f = await h.waitFor((fr) => !fr.includes('/bravo'));
    expect(order(f)).toHaveLength(3);
    // ^K on the running job: it is cancelled on its own cluster
    await h.press('g', KEY.ctrlK);
    await h.waitFor('Cancel job 3 on alpha?');
    await h.press(KEY.right, KEY.enter);
    await h.waitFor('cancelled job 3 on alpha');
    expect(h.client.calls).toEqual([{ method: 'cancel', params: { cluster: 'alpha', jobIds: [3] } }]);
  });

  test('0 on one cluster’s jobs opens every cluster’s (k9s’s all namespaces)', async () => {
    const h = renderTop({ snapshot: world(), columns: 120 });
    await h.waitFor('alpha');
    await h.press(KEY.enter);
    await h.waitFor('jobs(alpha)');
    expect(h.frame()).toContain('0 all clusters');
    await h.press('0');
    const f = await h.waitFor('clusters › jobs(alpha) › jobs(all)');
    expect(f).toContain('eval');
  });
});

describe('LAST JOB: running work first', () => {
  test('a running job is shown (and l opens it) even when a newer job has finished or waits', async () => {
    const a = cluster('alpha', { lastJobId: 4 });
    const h = renderTop({
      snapshot: snapshot({
        seq: 5,
        clusters: [a],
        jobs: [job(a, 2, { status: 'RUNNING' }), job(a, 3, { status: 'RUNNING' }), job(a, 4, { status: 'PENDING' })],
      }),
      columns: 120,
    });
    let f = await h.waitFor('alpha');
    expect(f).toMatch(/alpha .* 3 RUNNING \+2/);
    await h.press('l');
    await h.waitFor('logs(alpha/3)');
    await h.press(KEY.esc);
    await h.waitFor((fr) => !fr.includes('logs('));
    // all done: the latest job again
    h.feed.event(ev({ seq: 6, kind: 'job', job: job(a, 2, { status: 'SUCCEEDED' }) }));
    h.feed.event(ev({ seq: 7, kind: 'job', job: job(a, 3, { status: 'FAILED' }) }));
    h.feed.event(ev({ seq: 8, kind: 'job', job: job(a, 4, { status: 'SUCCEEDED' }) }));
    f = await h.waitFor(/alpha .* 4 SUCCEEDED/);
    expect(f).not.toContain('RUNNING');
  });
});

describe('a stop / down status line', () => {
  test('stays while its request runs and clears when it finishes; a failure replaces it', async () => {
    const a = cluster('alpha');
    const b = cluster('bravo');
    const h = renderTop({
      snapshot: snapshot({ seq: 5, clusters: [a, b] }),
      handlers: { stop: () => ({ requestIds: ['stop-1'] }), down: () => ({ requestIds: ['down-1'], clusters: ['bravo'] }) },
    });
    await h.waitFor('alpha');
    await h.press('p');
    await h.waitFor('Stop alpha?');
    await h.press(KEY.right, KEY.enter);
    await h.waitFor('stopping alpha…');
    h.feed.event(ev({ seq: 6, kind: 'request', request: request('stop-1', { kind: 'stop', cluster: 'alpha', status: 'RUNNING', stage: undefined }) }));
    h.feed.event(ev({ seq: 7, kind: 'cluster', cluster: { ...a, status: 'STOPPED' } }));
    await h.waitFor(/alpha .* STOPPED/);
    expect(h.frame()).toContain('stopping alpha…');
    h.feed.event(ev({ seq: 8, kind: 'request', request: request('stop-1', { kind: 'stop', cluster: 'alpha', status: 'SUCCEEDED', finishedAt: Date.now() }) }));
    await h.waitFor((f) => !f.includes('stopping alpha'));
    // down that fails: the error takes the line
    await h.press('j');
    await h.waitFor((f) => /▸ bravo/.test(f));
    await h.press(KEY.ctrlD);
    await h.waitFor('Tear down bravo?');
    await h.press(KEY.right, KEY.enter);
    await h.waitFor('tearing down bravo…');
    h.feed.event(ev({ seq: 9, kind: 'request', request: request('down-1', { kind: 'down', cluster: 'bravo', status: 'FAILED', error: 'host 10.0.0.9 unreachable\nstack', finishedAt: Date.now() }) }));
    const f = await h.waitFor('down bravo: host 10.0.0.9 unreachable');
    expect(f).not.toContain('tearing down');
    expect(f).not.toContain('stack');
  });
});

describe('dialogs on small terminals', () => {
  test('80x12: the confirm dialog keeps its title and both buttons, the message cut to fit', async () => {
    const a = cluster('a-cluster-with-a-rather-long-name-for-the-title');
    const jobs = Array.from({ length: 12 }, (_, i) => job(a, i + 1, { status: 'RUNNING' }));
    const h = renderTop({ snapshot: snapshot({ seq: 3, clusters: [a], jobs }), rows: 12, columns: 80, handlers: { stop: () => ({ requestIds: ['stop-9'] }) } });
    await h.waitFor('a-cluster');
    await h.press('p');
    const f = plain(await h.waitFor('Stop a-cluster'));
    const lines = f.split('\n');
    expect(lines.length).toBeLessThanOrEqual(11);
    expect(f).toContain('[ Cancel ]');
    expect(f).toContain('Stop  ');
    // the dialog's box is whole: its top and bottom border are on screen
    expect(lines.some((l) => l.startsWith('╭'))).toBe(true);
    expect(lines.some((l) => l.startsWith('╰'))).toBe(true);
    expect(f).toMatch(/12 running jobs/);
    expect(f).toContain('…');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    await h.press(KEY.right, KEY.enter);
    await h.waitFor('stopping a-cluster');
  });

  test('80x12: the autostop prompt keeps its input line', async () => {
    const h = renderTop({ snapshot: snapshot({ seq: 2, clusters: [cluster('alpha')] }), rows: 12, columns: 80 });
    await h.waitFor('alpha');
    await h.press('a');
    const f = plain(await h.waitFor('Autostop alpha'));
    expect(f).toContain('› ');
    expect(f.split('\n').some((l) => l.startsWith('╰'))).toBe(true);
  });

  test('layout: title and buttons first, then the message, then spacing and keys', () => {
    const req = { title: 'Stop x?', message: 'word '.repeat(60).trim() };
    expect(confirmLayout(req, 80, 6)).toMatchObject({ title: 'Stop x?', gap: false, keys: false });
    expect(confirmLayout(req, 80, 6).message).toHaveLength(2);
    expect(confirmLayout(req, 80, 4).message).toHaveLength(0);
    const roomy = confirmLayout({ title: 'Stop x?', message: 'short' }, 80, 20);
    expect(roomy).toEqual({ title: 'Stop x?', message: ['short'], gap: true, keys: true });
  });
});
