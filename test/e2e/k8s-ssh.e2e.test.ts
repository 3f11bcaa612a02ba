// `aloft ssh CLUSTER` into a kubernetes pod in a real terminal (tmux): a TTY shell through the exec
// API, raw mode, window resizes forwarded; and the dashboard's `s` opening the same shell.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, makeHome, type AloftEnv } from '../helpers/cli.js';
import { startFakeKube, type FakeKube } from '../fakes/kubernetes/index.js';

const TMUX = '/usr/bin/tmux';
const isRoot = process.getuid?.() === 0;

class Tmux {
  readonly sock = `aloft-k8s-ssh-${process.pid}`;
  readonly target = 'main';
  run(...args: string[]): string {
    const r = spawnSync(TMUX, ['-L', this.sock, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }
  line(text: string): void {
    this.run('send-keys', '-t', this.target, '-l', text);
    this.run('send-keys', '-t', this.target, 'Enter');
  }
  keys(...k: string[]): void {
    for (const x of k) this.run('send-keys', '-t', this.target, x);
  }
  screen(): string {
    return this.run('capture-pane', '-p', '-t', this.target);
  }
  async waitFor(pred: RegExp, ms = 30_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const s = this.screen();
      if (pred.test(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(pred)}; screen:\n${s}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  kill(): void {
    spawnSync(TMUX, ['-L', this.sock, 'kill-server']);
    rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, this.sock), { force: true });
  }
}

// The fake runs pods in Linux namespaces and needs root (as here and in CI).
describe.skipIf(!isRoot && !process.env.CI)('aloft ssh into a kubernetes pod, in a real terminal', () => {
  let kube: FakeKube;
  let a: AloftEnv;
  const t = new Tmux();

  beforeAll(async () => {
    kube = await startFakeKube({ fixture: 'cpu' });
    a = makeHome('aloft-k8s-ssh-');
    a.env.KUBECONFIG = kube.kubeconfigPath;
  }, 60_000);
  afterAll(async () => {
    t.kill();
    await a?.cleanup();
    await kube?.stop();
  });

  it('a TTY shell in the pod (raw mode, resizes), then the same from aloft top with s', async () => {
    const r = await a.run(['launch', '-y', '-c', 'sh1', '--infra', 'k8s', '--', 'true'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const pod = kube.list('pods').find((p) => p.metadata?.labels?.['aloft.dev/cluster'] === 'sh1')!.metadata!.name!;

    const env = Object.entries({ ...a.env, TERM: 'xterm-256color', PS1: 'outer$ ' })
      .filter(([, v]) => v !== '')
      .map(([k, v]) => `${k}=${v}`);
    t.run('new-session', '-d', '-s', t.target, '-x', '120', '-y', '40', 'env', '-u', 'CI', ...env, 'bash', '--norc', '--noprofile');
    await t.waitFor(/^outer\$\s*$/m);
    t.line(`${process.execPath} ${BIN} ssh sh1`);
    // A login shell in the pod: its hostname is the pod's, stdin is a terminal.
    t.line('echo "in=$(hostname) tty=$(tty) sum=$((6*7))"');
    await t.waitFor(new RegExp(`in=${pod} tty=/dev/pts/\\d+ sum=42`));
    t.line('echo "size=$(stty size)"');
    await t.waitFor(/size=40 120/);
    t.run('resize-window', '-t', t.target, '-x', '100', '-y', '30');
    // The new size travels tmux → aloft (SIGWINCH) → the exec's resize channel → the pod's pty;
    // ask until it has arrived.
    for (let i = 0; ; i++) {
      t.run('send-keys', '-t', t.target, 'C-l');
      t.line('echo "resized=$(stty size)"');
      try {
        await t.waitFor(/resized=30 100/, 2000);
        break;
      } catch (err) {
        if (i >= 10) throw err;
      }
    }
    // Raw mode: a Ctrl-C reaches the pod's shell (interrupting `sleep`) instead of killing aloft.
    t.line('sleep 30; echo after-sleep');
    await new Promise((res) => setTimeout(res, 500));
    t.keys('C-c');
    t.line('echo still-in=$(hostname)');
    await t.waitFor(new RegExp(`still-in=${pod}`));
    t.line('exit');
    await t.waitFor(/^outer\$\s*$/m);

    // The dashboard's `s` runs `aloft ssh CLUSTER`: the same shell, then back to the dashboard.
    t.line(`${process.execPath} ${BIN} top`);
    await t.waitFor(/▸ sh1\s+kubernetes\/fake-cpu .* UP/);
    t.keys('s');
    // Typed only once the dashboard has stepped aside (before that, keys are the dashboard's).
    await t.waitFor(/shell on sh1/);
    t.line('echo "from-top=$(hostname)"');
    await t.waitFor(new RegExp(`from-top=${pod}`));
    t.line('exit');
    await t.waitFor(/▸ sh1\s+kubernetes\/fake-cpu .* UP/);
    t.keys('q');
    await t.waitFor(/^outer\$\s*$/m);
    expect((await a.run(['down', 'sh1', '-y'], { timeoutMs: 120_000 })).code).toBe(0);
  }, 240_000);
});
