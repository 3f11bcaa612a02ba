// Issues 5 and 16 end to end: the real CLI and daemon, `aloft top` in a real terminal (tmux
// 160x45). Launch a cluster, see it UP, the daemon killed (top starts it again and resumes), `?`
// help, `l` the job's output, `s` a shell and back, the down dialog at 80x12, down with
// confirmation, `q` quits and the terminal is back as it was (main screen, cooked mode, echo,
// cursor visible).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidAlive } from '../../src/util/process.js';
import { BIN, makeHome, REMOTE, ROOT, waitFor, type AloftEnv } from '../helpers/cli.js';
import { Tmux } from '../helpers/tmux.js';

const CLUSTER = 'tuie2e';
/** sorts after CLUSTER, so CLUSTER stays the selected first row */
const OTHER = 'zz-tuie2e';

describe('aloft top in a real terminal', () => {
  let a: AloftEnv;
  const t = new Tmux();

  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
    a = makeHome('aloft-tui-');
  });
  afterAll(async () => {
    t.kill();
    await a?.cleanup();
  });

  it('launch → UP in top → daemon killed, started again by top → ? help → l logs → s shell and back → 80x12 dialog → down with confirmation → q restores the terminal', async () => {
    const launched = await a.run(['launch', '-y', '-c', CLUSTER, '--', 'echo hello-from-tui-e2e; echo second-line'], { timeoutMs: 90_000 });
    expect(launched.code, launched.stderr).toBe(0);

    // A plain shell in a 160x45 terminal; aloft top is started from it like a user would.
    const env = Object.entries({ ...a.env, TERM: 'xterm-256color', PS1: 'e2e$ ' })
      .filter(([, v]) => v !== '')
      .map(([k, v]) => `${k}=${v}`);
    t.run('new-session', '-d', '-s', t.target, '-x', '160', '-y', '45', 'env', '-u', 'CI', ...env, 'bash', '--norc', '--noprofile');
    await t.waitFor('e2e$');
    const sttyBefore = sttyFlags(t);
    t.line(`${process.execPath} ${BIN} top`);

    // 1. the cluster shows UP, in the alternate screen
    let s = await t.waitFor(new RegExp(`${CLUSTER}\\s+local\\s+.*\\s+UP\\s`));
    expect(s).toMatch(/^aloft daemon \d+\.\d+\.\d+ · ALOFT_HOME /m);
    expect(s).toMatch(/NAME↑\s+INFRA\s+RESOURCES\s+NODES\s+STATUS\s+AUTOSTOP\s+\$\/HR\s+AGE\s+LAST JOB/);
    expect(t.show('#{alternate_on}')).toBe('1');

    // 2. the daemon dies (SIGKILL: the socket refuses connections): top starts a new one itself,
    //    as any CLI command would — no command runs until it has — and the stream resumes (no
    //    duplicate rows); changes made afterwards by the CLI show up live
    const before = a.daemonPid()!;
    process.kill(before, 'SIGKILL');
    await waitFor(() => !pidAlive(before), 10_000, 'the daemon to die');
    const revived = await waitFor(() => {
      const p = a.daemonPid();
      return p && p !== before && pidAlive(p) ? p : undefined;
    }, 60_000, 'aloft top to start a daemon');
    s = await t.waitFor((x) => !/reconnecting|connecting…/.test(x) && rowOf(CLUSTER).test(x));
    expect(a.daemonPid()).toBe(revived);
    const again = await a.run(['launch', '-y', '-c', OTHER, '--', 'echo other'], { timeoutMs: 90_000 });
    expect(again.code, again.stderr).toBe(0);
    // the CLI found the daemon top had started: the same process
    expect(a.daemonPid()).toBe(revived);
    s = await t.waitFor((x) => !x.includes('reconnecting') && new RegExp(`${OTHER}\\s+local\\s+.*\\s+UP\\s`).test(x));
    expect(s.split('\n').filter((l) => rowOf(CLUSTER).test(l))).toHaveLength(1);
    expect(s).toMatch(/clusters 2\b/);

    // 3. ? lists the actions, esc closes it
    t.keys('?');
    s = await t.waitFor('cluster.down');
    for (const id of ['nav.up', 'view.logs', 'cluster.shell', 'cluster.stop', 'cluster.start', 'cluster.autostop', 'app.quit']) {
      expect(s).toContain(id);
    }
    t.keys('Escape');
    await t.waitFor((x) => !x.includes('cluster.down') && x.includes(CLUSTER));

    // 4. l shows the job's output
    t.keys('l');
    s = await t.waitFor('hello-from-tui-e2e');
    expect(s).toContain('second-line');
    expect(s).toContain(`logs(${CLUSTER}/1)`);
    t.keys('Escape');
    await t.waitFor((x) => !x.includes('logs(') && x.includes('LAST JOB'));

    // 5. s: the dashboard steps aside for a shell on the head node, and comes back after it.
    //    (Not in the team-server run: a shell goes through `aloft ssh`, which an API server refuses.)
    if (!REMOTE) {
      t.keys('s');
      await t.waitFor(`shell on ${CLUSTER}`);
      expect(t.show('#{alternate_on}')).toBe('0');
      await new Promise((r) => setTimeout(r, 500));
      t.line('echo inside-$((40+2)) $PWD');
      s = await t.waitFor('inside-42');
      expect(s).toMatch(new RegExp(`inside-42 .*${CLUSTER}`));
      t.line('exit');
      s = await t.waitFor(new RegExp(`${CLUSTER}\\s+local\\s+.*\\s+UP\\s`));
      expect(t.show('#{alternate_on}')).toBe('1');
    }

    // 6. an 80x12 terminal: the down dialog keeps its title, both buttons and its border
    t.run('resize-window', '-t', t.target, '-x', '80', '-y', '12');
    // redrawn for 80 columns: NODES is the first column to give way
    await t.waitFor((x) => x.trimEnd().split('\n').length <= 12 && !x.includes('NODES') && rowOf(CLUSTER).test(x));
    t.keys('C-d');
    s = await t.waitFor(`Tear down ${CLUSTER}?`);
    expect(s).toContain('[ Cancel ]');
    expect(s).toMatch(/ {2}Down {2}/);
    expect(s.split('\n').some((l) => l.startsWith('╰'))).toBe(true);
    t.keys('Escape');
    await t.waitFor('down: cancelled');
    t.run('resize-window', '-t', t.target, '-x', '160', '-y', '45');
    await t.waitFor('NODES');

    //    ctrl-d asks first with the focus on Cancel: enter keeps the cluster
    t.keys('C-d');
    s = await t.waitFor(`Tear down ${CLUSTER}?`);
    expect(s).toContain('[ Cancel ]');
    t.keys('Enter');
    await t.waitFor('down: cancelled');
    expect(a.runSync(['status']).stdout).toContain(CLUSTER);
    //    then → Down, enter: it goes away on screen and for the CLI
    t.keys('C-d');
    await t.waitFor(`Tear down ${CLUSTER}?`);
    t.keys('Right', 'Enter');
    await t.waitFor((x) => /clusters 1\b/.test(x) && !rowOf(CLUSTER).test(x), 60_000);
    const status = a.runSync(['status']).stdout;
    expect(status).not.toMatch(new RegExp(`^${CLUSTER}\\s`, 'm'));
    expect(status).toContain(OTHER);

    // 7. q quits: back on the main screen, at the prompt, terminal modes as before
    t.keys('q');
    await t.waitFor((x) => t.show('#{alternate_on}') === '0' && x.trimEnd().split('\n').pop() === 'e2e$');
    expect(t.show('#{cursor_flag}')).toBe('1');
    expect(sttyFlags(t)).toEqual(sttyBefore);
    expect(sttyBefore).toEqual(['echo', 'icanon']);
  });

  // Runs after the test above, on the cluster it leaves (OTHER).
  it('without a terminal: says so (exit 2); --once prints the clusters view as plain text', async () => {
    const piped = await a.run(['top']);
    expect(piped.code).toBe(2);
    expect(piped.stderr.trim()).toBe('aloft: top needs a terminal; use `aloft top --once` or `aloft status` in scripts and pipes');
    const once = await a.run(['top', '--once']);
    expect(once.code, once.stderr).toBe(0);
    const lines = once.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^aloft \\d+\\.\\d+\\.\\d+ · ${a.home} · clusters 1 \\(UP 1\\) · UP \\$0\\.00/hr$`));
    expect(lines[1]).toMatch(/^NAME\s+INFRA\s+RESOURCES\s+NODES\s+STATUS\s+AUTOSTOP\s+\$\/HR\s+AGE\s+LAST JOB$/);
    expect(lines[2]).toMatch(new RegExp(`^${OTHER}\\s+local\\s+.*\\s+1\\s+UP\\s+-\\s+-\\s+\\S+\\s+1 SUCCEEDED$`));
    expect(once.stdout).not.toMatch(/\u001B/);
  });
});

/** A table row of that cluster (rows start with the selection mark or two spaces). */
const rowOf = (name: string) => new RegExp(`^(▸| ) ${name}\\s+local\\s`, 'm');

/** echo/icanon as `stty` reports them inside the pane. */
function sttyFlags(t: Tmux): string[] {
  const mark = `stty-${Math.random().toString(36).slice(2, 8)}`;
  t.line(`stty -a | tr ' ;' '\\n\\n' | grep -x -e echo -e -echo -e icanon -e -icanon | sort | tr '\\n' ' '; echo ${mark}`);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const s = t.screen();
    // the output line ends with the mark; the echoed command line contains `echo MARK`
    const line = s.split('\n').find((l) => l.trimEnd().endsWith(mark) && !l.includes(`echo ${mark}`));
    if (line) return line.trimEnd().slice(0, -mark.length).trim().split(/\s+/);
    if (Date.now() > deadline) throw new Error(`no stty output; screen:\n${s}`);
    spawnSync('sleep', ['0.1']);
  }
}
