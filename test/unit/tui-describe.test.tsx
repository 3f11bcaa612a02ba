// d describe and y YAML (issue 16.3) on clusters, jobs, managed jobs and requests: the daemon's
// describe answer laid out as a k9s describe page, searchable; the task as YAML; refetched when
// the object changes; a failure in one line.
import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import type { Description, DescribeTarget } from '../../src/protocol/api.js';
import { parseTaskText } from '../../src/spec/index.js';
import { redactSecrets } from '../../src/spec/redact.js';
import { describeLines } from '../../src/tui/render/describe.js';
import { cluster, ev, job, KEY, managed, renderTop, request, snapshot } from '../helpers/tui-harness.js';

afterEach(() => cleanup());

const task = redactSecrets(
  parseTaskText('name: train\nresources: {cpus: 2+, ports: 8080}\nenvs: {MODEL: llama}\nsecrets: {HF_TOKEN: hf_secret_value}\nrun: python train.py\n', 't.yaml').tasks[0]!,
);

function world() {
  const a = cluster('alpha', { lastJobId: 2, autostop: { idleMinutes: 10, down: true }, numNodes: 2 });
  const j = job(a, 2, { name: 'train', numNodes: 2, secretNames: ['HF_TOKEN'] });
  const m = managed({ id: 4, cluster: 'mj-4' });
  const r = request('launch-ab12', { cluster: 'alpha', status: 'SUCCEEDED', jobId: 2, finishedAt: Date.now() });
  const d = (t: DescribeTarget): Description => ({
    target: t,
    cluster: a,
    nodes: [
      { rank: 0, ip: '127.0.0.1', nodeDir: '/h/local/alpha/node-0', instanceId: 'pg-100', status: 'running' },
      { rank: 1, ip: '127.0.0.1', nodeDir: '/h/local/alpha/node-1', instanceId: 'pg-101', status: 'running', ssh: 'ubuntu@10.0.0.2:22' },
    ],
    agentEndpoint: '/h/local/alpha/node-0/agent.sock',
    endpoints: ['127.0.0.1:8080'],
    jobs: [j],
    ...(t.kind === 'job' ? { job: j, logPath: '/h/logs/u/2.log' } : {}),
    ...(t.kind === 'managed' ? { managed: m } : {}),
    ...(t.kind === 'request' ? { request: r } : {}),
    task,
    events: [
      ev({ seq: 5, kind: 'cluster', cluster: { ...a, status: 'INIT' } }),
      ev({ seq: 6, kind: 'cluster', cluster: { ...a, status: 'INIT' } }),
      ev({ seq: 7, kind: 'cluster', cluster: a }),
      ev({ seq: 8, kind: 'notice', name: 'alpha', message: 'autostop armed: 10m (down)' }),
    ],
  });
  const targets: DescribeTarget[] = [];
  return {
    a,
    targets,
    snap: snapshot({ seq: 10, clusters: [a], jobs: [j], managed: [m], requests: [r] }),
    handlers: {
      describe: (t: DescribeTarget) => {
        targets.push(t);
        return d(t);
      },
    },
  };
}

describe('describe and YAML', () => {
  test('d on a cluster: fields, nodes, endpoints, autostop, jobs, the task with secrets redacted, its events', async () => {
    const w = world();
    const h = renderTop({ snapshot: w.snap, handlers: w.handlers, rows: 60, columns: 120 });
    await h.waitFor('alpha');
    await h.press('d');
    const f = await h.waitFor('Events:');
    expect(f).toContain('clusters › describe(cluster alpha)');
    expect(f).toMatch(/^Name: +alpha$/m);
    expect(f).toMatch(/^Autostop: +10m \(down\)$/m);
    expect(f).toMatch(/RANK +ADDRESS +STATUS +INSTANCE +NODE DIR +SSH/);
    expect(f).toMatch(/1 +127\.0\.0\.1 +running +pg-101 +\/h\/local\/alpha\/node-1 +ubuntu@10\.0\.0\.2:22/);
    expect(f).toContain('agent: /h/local/alpha/node-0/agent.sock');
    expect(f).toContain('port: 127.0.0.1:8080');
    expect(f).toContain('HF_TOKEN: <redacted>');
    expect(f).toContain('MODEL: llama');
    expect(f).not.toContain('hf_secret_value');
    // a record whose status did not change is one line, not two
    expect(f.split('\n').filter((l) => /cluster +alpha: INIT$/.test(l))).toHaveLength(1);
    expect(f).toContain('autostop armed: 10m (down)');
    expect(w.targets).toEqual([{ kind: 'cluster', cluster: 'alpha' }]);
  });

  test('y shows the task as YAML; / searches it; esc goes back', async () => {
    const w = world();
    const h = renderTop({ snapshot: w.snap, handlers: w.handlers });
    await h.waitFor('alpha');
    await h.press('y');
    let f = await h.waitFor('run: python train.py');
    expect(f).toContain('yaml(cluster alpha)');
    expect(f).toContain('name: train');
    expect(f).toContain('HF_TOKEN: <redacted>');
    await h.press('/');
    await h.type('llama');
    await h.press(KEY.enter);
    f = await h.waitFor('/llama 1/1');
    await h.press(KEY.esc);
    f = await h.waitFor((fr) => fr.includes('LAST JOB'));
  });

  test('d / y on a job (all jobs view), a managed job and a request ask for that object', async () => {
    const w = world();
    const h = renderTop({ snapshot: w.snap, handlers: w.handlers, rows: 80, columns: 120 });
    await h.waitFor('alpha');
    await h.command('jobs');
    await h.waitFor('jobs(all)');
    await h.press('d');
    let f = await h.waitFor('describe(job alpha/2)');
    f = await h.waitFor('Secrets:');
    expect(f).toMatch(/^Secrets: +HF_TOKEN \(values never stored\)$/m);
    expect(f).toContain('archived at /h/logs/u/2.log');
    await h.press(KEY.esc);
    await h.waitFor((fr) => !fr.includes('describe('));
    await h.command('managed');
    await h.waitFor(/^managed sort/m);
    await h.press('y');
    await h.waitFor('yaml(managed job 4)');
    await h.command('requests');
    await h.waitFor('launch-ab12');
    await h.press('d');
    f = await h.waitFor('describe(request launch-ab12)');
    await h.waitFor(/^Request: +launch-ab12$/m);
    expect(w.targets).toEqual([
      { kind: 'job', cluster: 'alpha', job: 2 },
      { kind: 'managed', id: 4 },
      { kind: 'request', id: 'launch-ab12' },
    ]);
  });

  test('the page is fetched again when the object changes; a failure is one line', async () => {
    const w = world();
    const h = renderTop({ snapshot: w.snap, handlers: w.handlers, rows: 80 });
    await h.waitFor('alpha');
    await h.press('d');
    await h.waitFor('Events:');
    h.feed.event(ev({ seq: 11, kind: 'cluster', cluster: { ...w.a, status: 'STOPPED' } }));
    await h.waitFor(() => w.targets.length === 2);
    cleanup();
    const g = renderTop({ snapshot: w.snap, handlers: { describe: () => Promise.reject(new Error("cluster 'alpha' does not exist\nstack")) } });
    await g.waitFor('alpha');
    await g.press('d');
    const f = await g.waitFor("cluster 'alpha' does not exist");
    expect(f).not.toContain('stack');
  });

  test('describe lines for a managed job: its attempts, recoveries and strategy', () => {
    const m = managed({ id: 7, recoveries: 1, attempts: [{ cluster: 'mj-7', startedAt: 1, endedAt: 60_001, outcome: 'preempted' }, { cluster: 'mj-7-2', startedAt: 70_000 }] });
    const lines = describeLines({ target: { kind: 'managed', id: 7 }, managed: m, events: [] }, 100_000);
    expect(lines).toContain('Managed job:    7 (train7)');
    expect(lines).toContain('Recoveries:     1');
    expect(lines.some((l) => /1\. mj-7: .*→ 1m00s, preempted/.test(l))).toBe(true);
    expect(lines.some((l) => /2\. mj-7-2: .*, live/.test(l))).toBe(true);
    expect(lines).toContain('Events: none in the recent event log');
  });
});
