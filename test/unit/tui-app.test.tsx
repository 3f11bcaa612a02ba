import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { COMMANDS, COMMAND_IDS, defaultKeymap, keymapConflicts } from '../../src/tui/keys/commands.js';
import { parseKeymap } from '../../src/tui/keys/keymap-file.js';
import { cluster, ev, job, KEY, renderTop, snapshot, tick } from '../helpers/tui-harness.js';

afterEach(() => cleanup());

const three = () => {
  const a = cluster('alpha', { hourlyPrice: 1.5, lastJobId: 2, launchedAt: Date.now() - 3_600_000 });
  const b = cluster('bravo', { status: 'STOPPED', launchedAt: Date.now() - 60_000 });
  const c = cluster('charlie', { status: 'INIT', launchedAt: Date.now() - 600_000 });
  return { a, b, c, snap: snapshot({ seq: 3, clusters: [a, b, c], jobs: [job(a, 1, { status: 'SUCCEEDED' }), job(a, 2)] }) };
};

/** The selected row carries the ▸ mark. */
function selectedRow(frame: string): string | undefined {
  const line = frame.split('\n').find((l) => l.includes('▸ '));
  return line?.replace(/\u001B\[[0-9;]*m/g, '').replace('▸', '').trim().split(/\s+/)[0];
}

describe('frame', () => {
  test('header, breadcrumbs, rows and the key hints of the active view', async () => {
    const { snap } = three();
    const h = renderTop({ snapshot: snap });
    const f = await h.waitFor('alpha');
    expect(f).toContain('aloft');
    expect(f).toContain('daemon 9.9.9');
    expect(f).toContain('ALOFT_HOME /tmp/aloft-home');
    expect(f).toContain('infra local');
    expect(f).toMatch(/clusters 3.*INIT.*1.*UP.*1.*STOPPED.*1/);
    expect(f).toMatch(/jobs.*RUNNING.*1/);
    expect(f).toContain('$1.50/hr');
    // sorted by name: the arrow sits on NAME
    expect(f).toMatch(/NAME↑\s+INFRA\s+RESOURCES\s+NODES\s+STATUS\s+AUTOSTOP\s+\$\/HR\s+AGE\s+LAST JOB/);
    expect(f).toContain('2 RUNNING');
    expect(f).toMatch(/\^D down/);
    expect(f).toMatch(/\? help/);
    expect(f.split('\n').length).toBeLessThanOrEqual(29);
  });

  test('header counts keep a fixed (lifecycle) order whatever order the clusters arrive in', async () => {
    const h = renderTop({ snapshot: snapshot({ clusters: [cluster('z', { status: 'STOPPED' }), cluster('y', { status: 'UP' }), cluster('x', { status: 'INIT' })] }) });
    const f = await h.waitFor('clusters 3');
    expect(f).toMatch(/clusters 3 INIT 1 UP 1 STOPPED 1 ·/);
    h.feed.event(ev({ kind: 'cluster-removed', name: 'y' }));
    h.feed.event(ev({ kind: 'cluster', cluster: cluster('y', { status: 'UP' }) }));
    await h.waitFor(/clusters 3 INIT 1 UP 1 STOPPED 1 ·/);
  });

  test('waiting for the daemon, then reconnecting… and back', async () => {
    const h = renderTop({});
    h.feed.connection('connecting');
    await h.waitFor('connecting…');
    await h.waitFor('waiting for the daemon');
    h.feed.connection('connected');
    h.feed.snapshot(snapshot({ seq: 1, clusters: [cluster('one')] }));
    await h.waitFor('one');
    expect(h.frame()).not.toContain('connecting…');
    h.feed.connection('reconnecting', 'daemon restarted');
    await h.waitFor('reconnecting… (daemon restarted)');
    h.feed.event(ev({ seq: 2, kind: 'cluster', cluster: cluster('two') }));
    h.feed.event(ev({ seq: 2, kind: 'cluster', cluster: cluster('two-dup') }));
    h.feed.connection('connected');
    const f = await h.waitFor('two');
    expect(f).not.toContain('reconnecting');
    expect(f).not.toContain('two-dup');
  });

  test('live events reach the screen', async () => {
    const { snap, c } = three();
    const h = renderTop({ snapshot: snap });
    await h.waitFor('charlie');
    h.feed.event(ev({ seq: 4, kind: 'cluster', cluster: { ...c, status: 'UP' } }));
    await h.waitFor(/UP.*3|clusters 3.*UP.*2/);
    h.feed.event(ev({ seq: 5, kind: 'cluster-removed', name: 'charlie' }));
    await h.waitFor('clusters 2');
    expect(h.frame()).not.toContain('charlie');
  });
});

describe('keys', () => {
  test('↑/↓ and j/k, G/g, move the selection', async () => {
    const h = renderTop({ snapshot: three().snap });
    await h.waitFor('alpha');
    const on = (name: string) => h.waitFor((f) => selectedRow(f) === name);
    await on('alpha');
    await h.press('j');
    await on('bravo');
    await h.press(KEY.down);
    await on('charlie');
    await h.press(KEY.down);
    await tick(30);
    expect(selectedRow(h.frame())).toBe('charlie');
    await h.press('k', KEY.up);
    await on('alpha');
    await h.press('G');
    await on('charlie');
    await h.press('g');
    await on('alpha');
    // keys faster than renders: each move starts where the previous one went
    await h.burst('j', 'j');
    await on('charlie');
  });

  test('sorting by name, age and status; the same key again reverses, with the arrow on the sorted column', async () => {
    const h = renderTop({ snapshot: three().snap });
    await h.waitFor('alpha');
    const order = (f = h.frame()) =>
      f
        .split('\n')
        .map((l) => l.replace(/\u001B\[[0-9;]*m/g, '').replace('▸', '').trim().split(/\s+/)[0])
        .filter((n) => ['alpha', 'bravo', 'charlie'].includes(n!));
    const header = (f: string) => f.split('\n').find((l) => l.includes('STATUS'))!;
    expect(order()).toEqual(['alpha', 'bravo', 'charlie']);
    expect(header(h.frame())).toMatch(/NAME↑ .* STATUS /);
    await h.press('A');
    let f = await h.waitFor('sort:age↑');
    expect(order(f)).toEqual(['bravo', 'charlie', 'alpha']);
    expect(header(f)).toMatch(/NAME .* AGE↑ /);
    // A again: oldest first, the arrow turns
    await h.press('A');
    f = await h.waitFor('sort:age↓');
    expect(order(f)).toEqual(['alpha', 'charlie', 'bravo']);
    expect(header(f)).toMatch(/AGE↓ /);
    await h.press('S');
    f = await h.waitFor('sort:status↑');
    expect(order(f)).toEqual(['charlie', 'alpha', 'bravo']);
    expect(header(f)).toMatch(/STATUS↑ /);
    await h.press('S');
    f = await h.waitFor('sort:status↓');
    expect(order(f)).toEqual(['bravo', 'alpha', 'charlie']);
    await h.press('N');
    f = await h.waitFor('sort:name↑');
    expect(order(f)).toEqual(['alpha', 'bravo', 'charlie']);
    await h.press('N');
    f = await h.waitFor('sort:name↓');
    expect(order(f)).toEqual(['charlie', 'bravo', 'alpha']);
    expect(header(f)).toMatch(/NAME↓ /);
    // the selection stays on its row through the re-sorts
    expect(selectedRow(f)).toBe('alpha');
  });

  test('/ filters the rows; esc clears', async () => {
    const h = renderTop({ snapshot: three().snap });
    await h.waitFor('alpha');
    await h.press('/');
    await h.type('rav');
    let f = await h.waitFor((fr) => fr.includes('/rav') && !fr.includes('alpha '));
    expect(f).toContain('bravo');
    await h.press(KEY.enter);
    // the filter stays after enter, and keys go back to the table
    f = await h.waitFor((fr) => !fr.includes('⏎ keep'));
    expect(f).not.toContain('charlie');
    expect(selectedRow(f)).toBe('bravo');
    await h.press(KEY.esc);
    f = await h.waitFor((fr) => fr.includes('alpha') && fr.includes('charlie'));
  });

  test('keys typed right after / or : reach the input line, even before it has rendered', async () => {
    // Each write is its own input event, with no render in between (a loaded machine, a fast
    // typist): the input line must still get every key, in order.
    const { snap } = three();
    snap.clusters.push(cluster('delta'), cluster('echo'));
    const h = renderTop({ snapshot: snap });
    await h.waitFor('echo');
    await h.burst('/', 'd', 'e', 'l', 't', 'a', KEY.enter);
    let f = await h.waitFor('/delta');
    expect(f).not.toContain('charlie');
    expect(selectedRow(f)).toBe('delta');
    await h.press(KEY.esc);
    await h.burst(':', 'e', 'v', 'e', 'n', 't', 's', KEY.enter);
    f = await h.waitFor('TIME  KIND  OBJECT  WHAT');
    expect(f).not.toContain('unknown command');
    expect(f.split('\n')[2]!.trim()).toBe('events');
  });

  test('the selection follows its row by key: clearing a filter keeps it, a row going away hands it to the next', async () => {
    const { snap } = three();
    snap.clusters.push(cluster('delta'), cluster('echo'));
    const h = renderTop({ snapshot: snap });
    await h.waitFor('echo');
    await h.press('/');
    await h.type('delta');
    await h.press(KEY.enter);
    await h.waitFor((f) => selectedRow(f) === 'delta');
    await h.press(KEY.esc);
    let f = await h.waitFor('alpha');
    expect(f).toContain('echo');
    expect(selectedRow(f)).toBe('delta');
    // selected: charlie; it goes away → delta (the next row), not alpha (row 0)
    await h.press('k');
    await h.waitFor((f) => selectedRow(f) === 'charlie');
    h.feed.event(ev({ kind: 'cluster-removed', name: 'charlie' }));
    f = await h.waitFor((fr) => !fr.includes('charlie'));
    expect(selectedRow(f)).toBe('delta');
    // the last row goes away → the one before it
    await h.press('G');
    await h.waitFor((f) => selectedRow(f) === 'echo');
    h.feed.event(ev({ kind: 'cluster-removed', name: 'echo' }));
    f = await h.waitFor((fr) => !fr.includes('echo'));
    expect(selectedRow(f)).toBe('delta');
  });

  test('enter drills into jobs, esc comes back to the same selection', async () => {
    const h = renderTop({ snapshot: three().snap });
    await h.waitFor('alpha');
    await h.press(KEY.enter);
    let f = await h.waitFor('jobs(alpha)');
    expect(f).toMatch(/ID\s+NAME\s+SUBMITTED↑\s+DURATION\s+RESOURCES\s+STATUS/);
    expect(f).toContain('job2');
    expect(f).toContain('SUCCEEDED');
    expect(f).toMatch(/clusters › jobs\(alpha\)/);
    await h.press(KEY.esc);
    // a lone ESC reaches the app a beat later than other keys (Ink waits to tell it from a sequence)
    f = await h.waitFor((fr) => !fr.includes('jobs(alpha)'));
    expect(selectedRow(f)).toBe('alpha');
  });

  test(': palette opens views; unknown commands flash an error', async () => {
    const h = renderTop({ snapshot: three().snap });
    await h.waitFor('alpha');
    await h.press(':');
    await h.type('req');
    expect(h.frame()).toContain(':requests');
    await h.press(KEY.enter);
    await h.waitFor(/requests\s+sort/);
    await h.command('events');
    await h.waitFor('TIME');
    await h.command('jobs alpha');
    await h.waitFor('clusters › jobs(alpha)');
    await h.command('nope');
    await h.waitFor('unknown command :nope');
    // a pasted / fast-typed chunk is replayed key by key
    await h.press(':events\r');
    await h.waitFor(/^events\s*$/m);
    await h.press('/zzz\r');
    await h.waitFor('/zzz');
  });

  test('a key right after a pasted chunk waits its turn (strict arrival order)', async () => {
    const h = renderTop({ snapshot: three().snap });
    await h.waitFor('alpha');
    await h.press(':');
    // the paste and the Enter reach stdin back to back, before the paste has been replayed
    await h.burst('jobs alpha', KEY.enter);
    const f = await h.waitFor('clusters › jobs(alpha)');
    expect(f).not.toContain('unknown command');
    expect(f).not.toContain('usage:');
    // and the same with a key that is not text (an arrow) behind a paste into the filter
    await h.press(KEY.esc);
    await h.waitFor((fr) => !fr.includes('jobs(alpha)'));
    await h.press('/');
    await h.burst('bra', KEY.enter, KEY.down);
    await h.waitFor('/bra');
    expect(selectedRow(h.frame())).toBe('bravo');
  });

  test('? help lists every action of the active view with its keys', async () => {
    const h = renderTop({ snapshot: three().snap, rows: 45 });
    await h.waitFor('alpha');
    await h.press('?');
    const f = await h.waitFor('Help');
    const clusterCommands = [
      'nav.up', 'nav.down', 'nav.pageUp', 'nav.pageDown', 'nav.top', 'nav.bottom', 'nav.enter', 'nav.back', 'view.logs', 'view.jobs',
      'cluster.shell', 'cluster.stop', 'cluster.start', 'cluster.down', 'cluster.autostop', 'cluster.launch', 'view.managed', 'sort.name', 'sort.age',
      'sort.status', 'filter.open', 'palette.open', 'app.help', 'app.quit',
    ];
    for (const id of clusterCommands) expect(f, id).toContain(id);
    // the jobs view's own action is not offered on clusters
    expect(f).not.toContain('job.cancel');
    // keys of the table do not reach it while help is open
    await h.press('j', 'n');
    expect(h.frame()).toContain('Help');
    await h.press(KEY.esc);
    await h.waitFor((f) => selectedRow(f) === 'alpha');
    // on the logs view, help shows the log keys
    await h.press('l');
    await h.waitFor('logs(alpha/2)');
    await h.press('?');
    const g = await h.waitFor('Help');
    for (const id of ['logs.follow', 'logs.wrap', 'logs.timestamps']) expect(g).toContain(id);
    expect(g).not.toContain('cluster.down');
  });

  test('? help fits 80x24: header stays, one column, no wrapped lines, scrolls to the rest', async () => {
    const h = renderTop({ snapshot: three().snap, rows: 24, columns: 80 });
    await h.waitFor('alpha');
    await h.press('?');
    let f = await h.waitFor('Help');
    const plain = (fr: string) => fr.replace(/\u001B\[[0-9;]*m/g, '').split('\n');
    const lines = plain(f);
    expect(lines[0]).toContain('aloft');
    expect(lines.length).toBeLessThanOrEqual(23);
    for (const l of lines) expect(l.trimEnd().length, l).toBeLessThanOrEqual(80);
    // one column: every entry starts at the left edge, one command per line
    for (const l of lines.filter((x) => /\b(nav|cluster|view|app|sort)\.\w+/.test(x))) {
      expect(l.match(/\b(nav|cluster|view|app|sort|filter|palette)\.\w+/g)!.length, l).toBe(1);
    }
    expect(f).toContain('nav.up');
    expect(f).not.toContain('app.quit');
    expect(f).toMatch(/↑\/↓ scroll/);
    await h.press(KEY.pgdown, KEY.pgdown);
    f = h.frame();
    expect(f).toContain('app.quit');
    expect(plain(f)[0]).toContain('aloft');
    // wide: several columns, everything on one screen
    cleanup();
    const w = renderTop({ snapshot: three().snap, rows: 24, columns: 160 });
    await w.waitFor('alpha');
    await w.press('?');
    const g = await w.waitFor('Help');
    expect(g).toContain('nav.up');
    expect(g).toContain('app.quit');
    expect(g).not.toMatch(/↑\/↓ scroll/);
  });

  test('every command has a description and a default key', () => {
    const km = defaultKeymap();
    for (const id of COMMAND_IDS) {
      expect(COMMANDS[id].help.length).toBeGreaterThan(0);
      expect(km.get(id)!.length).toBeGreaterThan(0);
    }
  });

  test('keys are rebindable (keymap.yaml)', async () => {
    const h = renderTop({ snapshot: three().snap, keymap: parseKeymap('nav.down: x\ncluster.down: D\napp.quit: Q\n') });
    await h.waitFor('alpha');
    await h.press('j');
    expect(selectedRow(h.frame())).toBe('alpha');
    await h.press('x');
    await h.waitFor((f) => selectedRow(f) === 'bravo');
    expect(h.frame()).toContain('⇧D down');
    await h.press('D');
    await h.waitFor('Tear down bravo?');
    await h.press(KEY.esc, 'q');
    expect(h.quits).toBe(0);
    await h.press('Q');
    expect(h.quits).toBe(1);
  });

  test('default keys never conflict; a conflicting keymap.yaml binding is reported and the default kept', async () => {
    expect(keymapConflicts(defaultKeymap())).toEqual([]);
    const km = parseKeymap('cluster.stop: j\nlogs.wrap: u\napp.quit: Q\n', '/home/u/.aloft/keymap.yaml');
    // j stays nav.down; cluster.stop keeps p; u in the text views does not clash with the clusters' start
    expect(km.get('cluster.stop')).toEqual(['p']);
    expect(km.get('nav.down')).toEqual(['down', 'j']);
    expect(km.get('logs.wrap')).toEqual(['u']);
    expect(km.get('app.quit')).toEqual(['Q']);
    expect(km.warnings).toEqual([
      '/home/u/.aloft/keymap.yaml: j is bound to both cluster.stop and nav.down; cluster.stop keeps its default (p)',
    ]);
    const h = renderTop({ snapshot: three().snap, keymap: km });
    const f = await h.waitFor('alpha');
    expect(f).toContain('/home/u/.aloft/keymap.yaml: j is bound to both cluster.stop and nav.down');
    await h.press('j');
    await h.waitFor((f) => selectedRow(f) === 'bravo');
    await h.press('k', 'p');
    await h.waitFor('Stop alpha?');
    // both bindings set by the file: the later one gives way
    const both = parseKeymap('nav.top: x\nnav.bottom: x\n');
    expect(both.get('nav.top')).toEqual(['x']);
    expect(both.get('nav.bottom')).toEqual(['end', 'G']);
    expect(both.warnings).toHaveLength(1);
  });

  test('q and ctrl-c quit', async () => {
    const h = renderTop({ snapshot: three().snap });
    await h.waitFor('alpha');
    await h.press('q');
    expect(h.quits).toBe(1);
    await h.press(KEY.ctrlC);
    expect(h.quits).toBe(2);
  });
});

describe('confirm dialog', () => {
  test('down asks first, focus on Cancel, and the dialog wins over the table', async () => {
    const h = renderTop({ snapshot: three().snap, handlers: { down: () => ({ requestIds: ['r9'], clusters: ['alpha'] }) } });
    await h.waitFor('alpha');
    await h.press(KEY.ctrlD);
    let f = await h.waitFor('Tear down alpha?');
    // Cancel is the focused (inverse) button
    expect(f).toContain('[ Cancel ]');
    expect(f).not.toContain('[ Down ]');
    // table keys do nothing while the dialog is open
    await h.press('j', 'j', 'p', 'u');
    expect(h.frame()).toContain('Tear down alpha?');
    expect(h.client.calls).toEqual([]);
    await h.press(KEY.enter);
    f = h.frame();
    expect(f).not.toContain('Tear down');
    expect(f).toContain('down: cancelled');
    expect(h.client.calls).toEqual([]);
    expect(selectedRow(f)).toBe('alpha');
    // again, move focus to Down and confirm
    await h.press(KEY.ctrlD);
    await h.waitFor('Tear down alpha?');
    await h.press(KEY.right, KEY.enter);
    await h.waitFor('tearing down alpha');
    expect(h.client.calls).toEqual([{ method: 'down', params: { clusters: ['alpha'] } }]);
  });

  test('while a dialog or input line is open the hint bar shows its keys, not the view\'s', async () => {
    const h = renderTop({ snapshot: three().snap });
    await h.waitFor('alpha');
    expect(h.frame()).toContain('p stop');
    await h.press(KEY.ctrlD);
    let f = await h.waitFor('Tear down alpha?');
    expect(f).not.toContain('p stop');
    expect(f).toMatch(/←\/→ choose {2}⏎ cancel {2}esc cancel/);
    await h.press(KEY.right);
    await h.waitFor(/←\/→ choose {2}⏎ down {2}esc cancel/);
    await h.press(KEY.esc);
    f = await h.waitFor('p stop');
    await h.press(':');
    f = await h.waitFor('⏎ open');
    expect(f).toContain('esc cancel');
    expect(f).not.toContain('p stop');
    await h.press(KEY.esc);
    await h.waitFor('p stop');
    await h.press('/');
    f = await h.waitFor('⏎ keep');
    expect(f).toContain('esc clear');
  });

  test('a failing action flashes one line', async () => {
    const h = renderTop({ snapshot: three().snap });
    await h.waitFor('alpha');
    await h.press('p');
    await h.waitFor('Stop alpha?');
    await h.press(KEY.right, KEY.enter);
    await h.waitFor('stop alpha: daemon: stop failed');
  });
});

describe('terminal size', () => {
  test('1,000 clusters: only what fits is drawn and scrolling follows the selection', async () => {
    const clusters = Array.from({ length: 1000 }, (_, i) => cluster(`c${String(i).padStart(4, '0')}`));
    const h = renderTop({ snapshot: snapshot({ seq: 1, clusters }), rows: 20 });
    await h.waitFor('c0000');
    expect(h.frame().split('\n').length).toBeLessThanOrEqual(19);
    expect(h.frame()).not.toContain('c0100');
    await h.press('G');
    await h.waitFor((f) => selectedRow(f) === 'c0999');
    expect(h.frame()).not.toContain('c0000');
  });
});
