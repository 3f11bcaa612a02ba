// Issue 17.4: planning runs on the optimizer's thread with a deadline: a task that plans for
// minutes never stalls the daemon, and is stopped with one line naming the limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiTask, rpc } from '../helpers/api.js';
import { makeHome, type AloftEnv } from '../helpers/cli.js';

describe('planning off the event loop (issue 17.4)', () => {
  let a: AloftEnv;
  const env = { ALOFT_PLAN_DEADLINE_MS: '2000' };
  beforeAll(async () => {
    a = makeHome();
    // the deadline is read by the daemon: start it with the setting
    expect((await a.run(['daemon', 'start'], { env })).code).toBe(0);
  });
  afterAll(async () => {
    await a.cleanup();
  });

  it('the daemon answers while a huge plan runs, and the plan is stopped at its deadline', async () => {
    // 100 pipeline tasks x 100 candidates: within every limit, and minutes of planning.
    const candidates = Array.from({ length: 100 }, (_, i) => ({ infra: {}, useSpot: false, ports: [], labels: {}, cpus: { value: (i % 8) + 1, atLeast: true } }));
    const tasks = Array.from({ length: 100 }, () => apiTask({ resources: { mode: 'ordered', candidates } }));
    const order: string[] = [];
    const plan = rpc(a.home, 'plan', { tasks }, 120_000).then((r) => {
      order.push('plan');
      return r;
    });
    const info = await rpc(a.home, 'info', {}, 120_000);
    order.push('info');
    expect(info.status).toBe(200);
    const r = await plan;
    expect(order).toEqual(['info', 'plan']);
    expect(r.status, r.text).toBe(400);
    expect(r.body.error.message).toBe(
      'planning took longer than 2s (the limit) and was stopped; a task with fewer resource candidates (or a pipeline with fewer tasks) plans faster',
    );
    // the planner is back for the next one
    const small = await a.run(['launch', '--dryrun', '-o', 'json', '--', 'echo']);
    expect(small.code, small.stderr).toBe(0);
    expect(JSON.parse(small.stdout).chosen).toMatchObject({ cloud: 'local' });
  });

  it('what the CLI refuses, the API refuses too: a task over a limit is 400 naming it', async () => {
    const candidates = Array.from({ length: 101 }, () => ({ infra: {}, useSpot: false, ports: [], labels: {} }));
    const r = await rpc(a.home, 'plan', { tasks: [apiTask({ resources: { mode: 'ordered', candidates } })] });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe('plan: tasks[0].resources.candidates: at most 100 resource candidates, got a list');
  });
});
