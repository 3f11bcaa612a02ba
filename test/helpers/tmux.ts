// tmux as a real terminal for end-to-end tests of `aloft top`: keys in, screen out.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

const TMUX = '/usr/bin/tmux';

export class Tmux {
  constructor(
    readonly target = 'main',
    readonly sock = `aloft-tui-${process.pid}`,
  ) {}
  run(...args: string[]): string {
    const r = spawnSync(TMUX, ['-L', this.sock, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }
  keys(...keys: string[]): void {
    for (const k of keys) this.run('send-keys', '-t', this.target, k);
  }
  /** Types text literally (no key-name lookup), then Enter. */
  line(text: string): void {
    this.run('send-keys', '-t', this.target, '-l', text);
    this.run('send-keys', '-t', this.target, 'Enter');
  }
  screen(): string {
    return this.run('capture-pane', '-p', '-t', this.target);
  }
  show(format: string): string {
    return this.run('display-message', '-p', '-t', this.target, format).trim();
  }
  async waitFor(pred: string | RegExp | ((s: string) => boolean), ms = 20_000): Promise<string> {
    const test = typeof pred === 'function' ? pred : (s: string) => (typeof pred === 'string' ? s.includes(pred) : pred.test(s));
    const deadline = Date.now() + ms;
    for (;;) {
      const s = this.screen();
      if (test(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(pred)}; screen:\n${s}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  kill(): void {
    spawnSync(TMUX, ['-L', this.sock, 'kill-server']);
    // tmux leaves its socket file behind after kill-server
    rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, this.sock), { force: true });
  }
}
