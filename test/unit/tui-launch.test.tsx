// n launch (issue 16.4), like `aloft launch`: a YAML path with tab completion, -c, --infra,
// --gpus, --use-spot, values for the envs and secrets the YAML declares without one (secrets
// masked), the plan `--dryrun --explain` prints, and the cursor on the new request.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import type { Task } from '../../src/spec/types.js';
import type { LaunchForm, TaskVariables } from '../../src/tui/data/launch.js';
import { launchCommand } from '../../src/tui/data/launch.js';
import { completePath } from '../../src/tui/data/tasks.js';
import { launchFlags } from '../../src/cli/top-deps.js';
import { cluster, ev, KEY, renderTop, request, snapshot } from '../helpers/tui-harness.js';

afterEach(() => cleanup());

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'aloft-launch-'));
  mkdirSync(join(dir, 'tasks'));
  for (const f of ['tasks/train.yaml', 'tasks/train-big.yaml', 'tasks/eval.yaml', 'tasks/notes.txt', 'hello.yaml']) writeFileSync(join(dir, f), 'run: echo\n');
  return dir;
}

function setup(vars: Record<string, TaskVariables> = {}, planText = 'Considered resources (1 node):\nINFRA  INSTANCE  $/HR\nlocal  -         0.00  ✔\nWhy the others were left out:\n  aws: no credentials') {
  const dir = workspace();
  const task = { name: 'hello', numNodes: 1 } as unknown as Task;
  const prepared: LaunchForm[] = [];
  const a = cluster('alpha');
  // a request newer than the one the launch makes: the new one is not the first row
  const newer = request('launch-zz99', { cluster: 'other', createdAt: Date.now() + 60_000 });
  const h = renderTop({
    snapshot: snapshot({ seq: 10, clusters: [a], requests: [newer] }),
    rows: 30,
    columns: 120,
    deps: {
      listTaskFiles: () => [join(dir, 'hello.yaml')],
      completePath: (p) => completePath(p, dir),
      taskVariables: async (p) => vars[p.replace(`${dir}/`, '')] ?? { envs: [], secrets: [] },
      prepareLaunch: async (form) => {
        prepared.push(form);
        return task;
      },
    },
    handlers: {
      plan: () => ({ plans: [], text: planText }),
      launch: () => ({ requestId: 'launch-new1', cluster: 'hello-1' }),
    },
  });
  return { h, dir, task, prepared };
}

describe('launch form', () => {
  test('tab completes the path; ⏎ plans with --explain; Launch lands the cursor on the new request', async () => {
    const { h, dir, task, prepared } = setup();
    await h.waitFor('alpha');
    await h.press('n');
    await h.waitFor('Launch a task');
    // the path is typed relative to the directory the form completes in
    await h.type(`${dir}/ta`);
    await h.press(KEY.tab);
    let f = await h.waitFor(`${dir}/tasks/`);
    // under the path: what it completes to (YAMLs and directories, not notes.txt)
    expect(f).toContain(`${dir}/tasks/eval.yaml`);
    expect(f).not.toContain('notes.txt');
    await h.type('tr');
    await h.press(KEY.tab);
    // train.yaml and train-big.yaml share "train"
    await h.waitFor(new RegExp(`YAML +${dir}/tasks/train$`, 'm'));
    // tab again when the prefix cannot grow: through the candidates
    await h.press(KEY.tab);
    await h.waitFor(`${dir}/tasks/train-big.yaml`);
    await h.press(KEY.tab);
    f = await h.waitFor(new RegExp(`YAML +${dir}/tasks/train.yaml`));
    expect(f).toContain(`aloft launch ${dir}/tasks/train.yaml`);
    await h.press(KEY.enter);
    f = await h.waitFor('Considered resources (1 node):');
    expect(f).toContain(`aloft launch ${dir}/tasks/train.yaml --dryrun --explain`);
    expect(f).toContain('Why the others were left out:');
    expect(f).toContain('[ Launch ]');
    expect(prepared).toEqual([{ path: `${dir}/tasks/train.yaml`, useSpot: false, envs: {}, secrets: {} }]);
    expect(h.client.calls).toEqual([{ method: 'plan', params: { tasks: [task], explain: true } }]);
    await h.press(KEY.enter);
    f = await h.waitFor('launching hello-1 (request launch-new1)');
    expect(f).toMatch(/clusters › requests/);
    expect(h.client.calls[1]).toEqual({ method: 'launch', params: { task } });
    // the request reaches the event stream after the view opened: the cursor goes to it
    h.feed.event(ev({ seq: 11, kind: 'request', request: request('launch-new1', { cluster: 'hello-1', stage: 'OPTIMIZE' }) }));
    f = await h.waitFor(/▸ launch-new1/);
    expect(f.indexOf('launch-zz99')).toBeLessThan(f.indexOf('launch-new1'));
  });

  test('cluster, infra, GPUs, spot, and the envs and secrets the YAML leaves without a value', async () => {
    const { h, prepared } = setup({
      'hello.yaml': { envs: [{ name: 'MODEL', inShell: false }], secrets: [{ name: 'HF_TOKEN', inShell: false }, { name: 'WANDB_KEY', inShell: true }] },
    });
    await h.waitFor('alpha');
    await h.press('n');
    await h.waitFor('Launch a task');
    await h.press(KEY.tab);
    await h.waitFor(/YAML +\S*hello\.yaml/);
    // ⏎ on the path: the YAML's own fields join the form, the cursor on the first one it needs
    await h.press(KEY.enter);
    let f = await h.waitFor(/▸ env MODEL/);
    expect(f).toContain('secret HF_TOKEN');
    expect(f).toMatch(/secret WANDB_KEY +\(empty: taken from your shell\)/);
    // ⏎ with MODEL still empty: said in one line, nothing planned
    await h.press(KEY.enter);
    await h.waitFor('env MODEL, secret HF_TOKEN have no value');
    expect(prepared).toEqual([]);
    await h.type('llama-3');
    await h.press(KEY.down);
    await h.type('hf_typed_secret');
    f = await h.waitFor(/secret HF_TOKEN +•{15}/);
    expect(f).not.toContain('hf_typed_secret');
    // up to the other fields
    await h.press(KEY.up, KEY.up, KEY.up, KEY.up, KEY.up);
    await h.waitFor(/▸ cluster/);
    await h.type('mine');
    await h.press(KEY.down);
    await h.type('local');
    await h.press(KEY.down);
    await h.type('A100:1');
    await h.press(KEY.down, ' ');
    f = await h.waitFor(/use spot +\[x\]/);
    expect(f).toMatch(/aloft launch -c mine --infra local --gpus A100:1 --use-spot --env MODEL=llama-3 --secret HF_TOKEN --secret WANDB_KEY /);
    await h.press(KEY.enter);
    f = await h.waitFor('[ Launch ]');
    expect(f).not.toContain('hf_typed_secret');
    expect(prepared).toEqual([
      { path: expect.stringMatching(/hello\.yaml$/), cluster: 'mine', infra: 'local', gpus: 'A100:1', useSpot: true, envs: { MODEL: 'llama-3' }, secrets: { HF_TOKEN: 'hf_typed_secret', WANDB_KEY: undefined } },
    ]);
    // esc: back to the form, values kept; ← Cancel works too
    await h.press(KEY.esc);
    f = await h.waitFor('Launch a task');
    expect(f).toContain('llama-3');
    await h.press(KEY.enter);
    await h.waitFor('[ Launch ]');
    await h.press(KEY.left, KEY.enter);
    await h.waitFor('Launch a task');
    await h.press(KEY.enter);
    await h.waitFor('[ Launch ]');
    await h.press(KEY.enter);
    await h.waitFor('launching hello-1');
    expect(h.client.calls.at(-1)).toEqual({ method: 'launch', params: { task: expect.anything(), cluster: 'mine' } });
  });

  test('a task that does not parse is one line and the form stays; esc closes it', async () => {
    const { h } = setup();
    h.deps.prepareLaunch = async () => {
      throw new Error('resources.accelerators: unknown accelerator "Z9"');
    };
    await h.waitFor('alpha');
    await h.press('n');
    await h.waitFor('Launch a task');
    await h.press(KEY.tab, KEY.enter);
    await h.waitFor('unknown accelerator "Z9"');
    expect(h.frame()).toContain('Launch a task');
    await h.press(KEY.esc);
    await h.waitFor((f) => !f.includes('Launch a task'));
  });

  test('the form stands for an aloft launch command line: flags for the CLI, secrets by name only', () => {
    const form: LaunchForm = { path: 'a b.yaml', cluster: 'c1', infra: 'aws/us-east-1', gpus: 'H100:8', useSpot: true, envs: { M: 'x y', N: undefined }, secrets: { S: 'value', T: undefined } };
    expect(launchCommand(form)).toBe(`aloft launch -c c1 --infra aws/us-east-1 --gpus H100:8 --use-spot --env 'M=x y' --env N --secret S --secret T 'a b.yaml'`);
    expect(launchFlags(form)).toEqual({ infra: 'aws/us-east-1', gpus: 'H100:8', useSpot: true, env: ['M=x y', 'N'], secret: ['S=value', 'T'] });
  });
});
