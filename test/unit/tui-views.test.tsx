import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { cluster, ev, job, KEY, managed, renderTop, request, snapshot, tick } from '../helpers/tui-harness.js';

afterEach(() => cleanup());

const base = () => {
  const a = cluster('alpha', { lastJobId: 2, autostop: { idleMinutes: 10, down: false } });
  const b = cluster('bravo', { status: 'STOPPED' });
  return {
    a,
    b,
    snap: snapshot({
      seq: 10,
      clusters: [a, b],
      jobs: [job(a, 1, { status: 'SUCCEEDED', endedAt: Date.now() }), job(a, 2, { status: 'RUNNING', name: 'train' })],
      requests: [
        request('req-ok', { cluster: 'alpha', status: 'SUCCEEDED', stage: 'EXEC', finishedAt: Date.now(), jobId: 2 }),
        request('req-run', { cluster: 'gamma', status: 'RUNNING', stage: 'PROVISION' }),
        request('req-bad', { cluster: 'delta', status: 'FAILED', stage: 'PROVISION', error: 'no local capacity for 8 GPUs\ndetails', finishedAt: Date.now() }),
      ],
      events: [ev({ seq: 9, kind: 'notice', message: 'autostop armed for alpha', name: 'alpha' })],
    }),
  };
};

describe('clusters view actions', () => {
  test('stop, start and autostop call the daemon and flash the outcome', async () => {
    const { snap } = base();
    const h = renderTop({
      snapshot: snap,
      handlers: {
        stop: () => ({ requestIds: ['r1'] }),
        start: () => ({ requestIds: ['r2'] }),
        autostop: () => ({ clusters: [] }),
      },
    });
    await h.waitFor('alpha');
    await h.press('p');
    await h.waitFor('Stop alpha?');
    await h.press(KEY.right, KEY.enter);
    await h.waitFor('stopping alpha');
    await h.press('j', 'u');
    await h.waitFor('starting bravo');
    await h.press('k', 'a');
    await h.waitFor('Autostop alpha after N idle minutes');
    expect(h.frame()).toContain('› 10');
    await h.press(KEY.backspace, KEY.backspace);
    await h.type('30 down');
    await h.press(KEY.enter);
    await h.waitFor('autostop alpha after 30m idle (down)');
    await h.press('a', KEY.backspace, KEY.backspace);
    await h.type('off');
    await h.press(KEY.enter);
    await h.waitFor('autostop cancelled on alpha');
    expect(h.client.calls).toEqual([
      { method: 'stop', params: { clusters: ['alpha'] } },
      { method: 'start', params: { clusters: ['bravo'] } },
      { method: 'autostop', params: { clusters: ['alpha'], idleMinutes: 30, down: true } },
      { method: 'autostop', params: { clusters: ['alpha'], cancel: true } },
    ]);
  });

  test('p asks first and says what stopping kills; u on an UP cluster does not call start', async () => {
    const { snap } = base();
    const mj = cluster('mj-2');
    snap.clusters.push(mj);
    snap.managed = [managed({ id: 2, cluster: 'mj-2' })];
    const h = renderTop({
      snapshot: snap,
      handlers: {
        stop: (p) => {
          if (p.clusters.includes('mj-2')) throw new Error('mj-2 runs managed job 2; cancel it with aloft jobs cancel 2');
          return { requestIds: ['r1'] };
        },
      },
    });
    await h.waitFor('alpha');
    await h.press('p');
    let f = await h.waitFor('Stop alpha?');
    expect(f).toContain('1 running job (2) will be killed');
    expect(f).toContain('[ Cancel ]');
    await h.press(KEY.enter);
    await h.waitFor('stop: cancelled');
    await h.press('u');
    await h.waitFor('alpha is already UP');
    expect(h.client.calls).toEqual([]);
    // a managed job's cluster: the dialog says the daemon refuses and points at ^K; the API's error is flashed
    await h.press('j', 'j', 'p');
    f = await h.waitFor('Stop mj-2?');
    expect(f).toMatch(/managed job 2/);
    expect(f).toContain('^K');
    await h.press(KEY.right, KEY.enter);
    await h.waitFor('stop mj-2: mj-2 runs managed job 2');
    expect(h.client.calls).toEqual([{ method: 'stop', params: { clusters: ['mj-2'] } }]);
  });

  test('s opens a shell on an UP cluster only', async () => {
    const h = renderTop({ snapshot: base().snap });
    await h.waitFor('alpha');
    await h.press('s');
    expect(h.shells).toEqual(['alpha']);
    await h.press('j', 's');
    await h.waitFor('bravo is STOPPED; a shell needs it UP');
    expect(h.shells).toEqual(['alpha']);
  });

  test('l on a cluster opens the logs of its latest job', async () => {
    const h = renderTop({ snapshot: base().snap });
    await h.waitFor('alpha');
    await h.press('l');
    await h.waitFor('logs(alpha/2)');
    expect(h.client.logs[0]!.q).toEqual({ cluster: 'alpha', job: 2, follow: true });
    await h.press(KEY.esc);
    await h.waitFor((f) => !f.includes('logs('));
    await h.press('j', 'l');
    await h.waitFor('bravo has no jobs yet');
  });
});

describe('jobs view', () => {
  test('lists the jobs; ctrl-k cancels a running job after confirmation', async () => {
    const h = renderTop({ snapshot: base().snap, handlers: { cancel: (p) => ({ cancelled: p.jobIds ?? [] }) } });
    await h.waitFor('alpha');
    await h.press(KEY.enter);
    const f = await h.waitFor('jobs(alpha)');
    expect(f).toMatch(/2\s+train\s+\S+ ago\s+\S+\s+1x\[CPU:0\.5\]\s+RUNNING/);
    expect(f).toMatch(/1\s+job1 .* SUCCEEDED/);
    await h.press(KEY.ctrlK);
    await h.waitFor('Cancel job 2 on alpha?');
    await h.press(KEY.enter);
    await h.waitFor('cancel job: cancelled');
    expect(h.client.calls).toEqual([]);
    await h.press(KEY.ctrlK, KEY.tab, KEY.enter);
    await h.waitFor('cancelled job 2 on alpha');
    expect(h.client.calls).toEqual([{ method: 'cancel', params: { cluster: 'alpha', jobIds: [2] } }]);
    await h.press('j', KEY.ctrlK);
    await h.waitFor('job 1 already SUCCEEDED');
  });

  test('enter opens the selected job’s logs; the cluster going away is shown', async () => {
    const h = renderTop({ snapshot: base().snap });
    await h.waitFor('alpha');
    await h.press(KEY.enter, 'j', KEY.enter);
    await h.waitFor('logs(alpha/1)');
    await h.press(KEY.esc);
    h.feed.event(ev({ seq: 11, kind: 'cluster-removed', name: 'alpha' }));
    await h.waitFor('alpha: no such cluster');
  });
});

describe('requests view', () => {
  test('stage with a spinner, elapsed time, failures with their reason', async () => {
    const h = renderTop({ snapshot: base().snap });
    await h.waitFor('alpha');
    await h.command('requests');
    const f = await h.waitFor('req-run');
    expect(f).toMatch(/ID\s+KIND\s+CLUSTER\s+STAGE\s+ELAPSED\s+STATUS\s+AGE↑\s+REASON/);
    expect(f).toMatch(/req-run\s+launch\s+gamma\s+[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] PROVISION\s+5s\s+RUNNING\s+5s/);
    expect(f).toMatch(/req-bad .* FAILED\s+5s\s+no local capacity for 8 GPUs/);
    expect(f).not.toContain('details');
    // the spinner turns
    const spin = () => h.frame().match(/([⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]) PROVISION/)?.[1];
    const first = spin();
    await tick(250);
    expect(spin()).not.toBe(first);
    // progress arrives as events
    h.feed.event(ev({ seq: 11, kind: 'request', request: request('req-run', { cluster: 'gamma', stage: 'SETUP' }) }));
    await h.waitFor(/req-run .* SETUP/);
    // enter on a finished launch opens its job's logs
    await h.press('S');
    await h.press('G');
    await h.press(KEY.enter);
    await h.waitFor('logs(alpha/2)');
  });
});

describe('events view', () => {
  test('timeline from the snapshot, then new state changes, newest first', async () => {
    const { snap, a } = base();
    const h = renderTop({ snapshot: snap });
    await h.waitFor('alpha');
    await h.command('events');
    await h.waitFor('autostop armed for alpha');
    h.feed.event(ev({ seq: 11, kind: 'cluster', cluster: { ...a, status: 'STOPPED' } }));
    h.feed.event(ev({ seq: 12, kind: 'job', job: job(a, 2, { status: 'FAILED', exitCode: 137 }) }));
    const f = await h.waitFor('FAILED (exit 137)');
    const lines = f.split('\n');
    const iJob = lines.findIndex((l) => l.includes('FAILED (exit 137)'));
    const iStop = lines.findIndex((l) => /cluster\s+alpha\s+STOPPED/.test(l));
    const iNotice = lines.findIndex((l) => l.includes('autostop armed'));
    expect(iJob).toBeGreaterThan(0);
    expect(iJob).toBeLessThan(iStop);
    expect(iStop).toBeLessThan(iNotice);
  });
});

describe('gpus view', () => {
  test('shows a one-line note when there is no catalog', async () => {
    const h = renderTop({ snapshot: base().snap, deps: { loadGpus: async () => ({ note: 'No GPU catalog in this build.' }) } });
    await h.waitFor('alpha');
    await h.command('gpus');
    await h.waitFor('No GPU catalog in this build.');
  });
  test('lists accelerators; enter shows one accelerator’s offers', async () => {
    const h = renderTop({
      snapshot: base().snap,
      deps: {
        loadGpus: async () => ({
          summary: () => [
            { accelerator: 'A100', memoryGiB: 40, counts: [1, 8], clouds: ['aws', 'gcp'], price: 3.67, spotPrice: 1.1 },
            { accelerator: 'H100', memoryGiB: 80, counts: [8], clouds: ['aws'], price: 98.32 },
          ],
          offers: (name: string) => [
            { accelerator: name, count: 8, cloud: 'aws', region: 'us-east-1', instanceType: 'p4d.24xlarge', memoryGiB: 40, cpus: 96, hostMemoryGiB: 1152, price: 32.77, spotPrice: 9.83 },
          ],
        }),
      },
    });
    await h.waitFor('alpha');
    await h.command('gpus');
    let f = await h.waitFor('H100');
    expect(f).toMatch(/GPU\s+MEM\s+QTY\s+CLOUDS\s+FROM \$\/HR\s+SPOT FROM \$\/HR/);
    expect(f).toMatch(/A100\s+40GiB\s+1, 8\s+aws, gcp\s+\$3\.67\s+\$1\.10/);
    await h.press(KEY.enter);
    f = await h.waitFor('p4d.24xlarge');
    expect(f).toContain('gpus › gpus(A100)');
    expect(f).toMatch(/A100\s+8\s+aws\s+p4d\.24xlarge\s+us-east-1\s+40GiB\s+96\s+\$32\.77\s+\$9\.83/);
  });
});
