// The logs view (issue 16.2): k9s keys (s autoscroll, f fullscreen, w wrap, t timestamps), `/`
// search with n/N, F for only the matching lines, the rank picker (0 all, 1…9 one rank), and a
// stream that survives the daemon going away. Plus the pieces under it: the ring of lines, the
// index of matching lines, the window of rows.
import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { DaemonUnreachable } from '../../src/client/http.js';
import { parseKeymap } from '../../src/tui/keys/keymap-file.js';
import { LineIndex, lineMatches, query } from '../../src/tui/state/lineindex.js';
import { TextLog } from '../../src/tui/state/textlog.js';
import { allLines, indexedLines, textWindow, withHead } from '../../src/tui/render/textwindow.js';
import { displayWidth, truncateColumns } from '../../src/tui/render/width.js';
import { cluster, job, KEY, renderTop, snapshot, tick } from '../helpers/tui-harness.js';

afterEach(() => cleanup());

const base = (numNodes = 1) => {
  const a = cluster('alpha', { lastJobId: 2, numNodes });
  return { a, snap: snapshot({ seq: 10, clusters: [a], jobs: [job(a, 2, { status: 'RUNNING', name: 'train', numNodes })] }) };
};

async function openLogs(opts: Parameters<typeof renderTop>[0] = {}) {
  const h = renderTop({ snapshot: base().snap, rows: 14, ...opts });
  await h.waitFor('alpha');
  await h.press('l');
  await h.waitFor('waiting for output');
  return { h, s: h.client.logs[0]! };
}

/** The rows of the log body (between the status line and the hint bar). */
const body = (f: string) => f.split('\n').slice(4, -2);

describe('logs view: keys', () => {
  test('follows output; s autoscroll, w wrap, t timestamps; end of log', async () => {
    const { h, s } = await openLogs();
    s.push('(head, rank=0) step 1\n(worker1, rank=1) step 1\n');
    await h.waitFor('(worker1, rank=1) step 1');
    for (let i = 2; i <= 40; i++) s.push(`(head, rank=0) step ${i}\n`);
    let f = await h.waitFor('step 40');
    expect(f).not.toContain('step 10\n');
    expect(f).toContain('autoscroll on');
    // scrolling up stops autoscroll; new lines do not move the view
    await h.press('k', 'k');
    f = await h.waitFor('autoscroll off');
    expect(f).not.toContain('step 40');
    s.push('(head, rank=0) step 41\n');
    await tick(80);
    expect(h.frame()).not.toContain('step 41');
    await h.press('s');
    await h.waitFor('step 41');
    // wrap: a long line is cut with an ellipsis, then wrapped onto the next rows
    s.push(`(head, rank=0) ${'x'.repeat(150)}END\n`);
    f = await h.waitFor('x'.repeat(40));
    expect(f).not.toContain('END');
    expect(f).toMatch(/x…$/m);
    await h.press('w');
    await h.waitFor('xEND');
    // timestamps
    await h.press('t');
    await h.waitFor(/\d\d:\d\d:\d\d \(head, rank=0\) step 41/);
    s.end(job(base().a, 2, { status: 'SUCCEEDED' }));
    await h.waitFor('end of log: job 2 SUCCEEDED');
    await h.press(KEY.esc);
    await h.waitFor((fr) => !fr.includes('logs('));
    expect(s.aborted).toBe(true);
  });

  test('the hint bar follows s / w / t / f at once (no stale labels)', async () => {
    const { h, s } = await openLogs({ columns: 120 });
    let f = h.frame();
    expect(f).toContain('s autoscroll off');
    expect(f).toContain('w wrap');
    expect(f).toContain('t timestamps');
    expect(f).toContain('f fullscreen');
    expect(f).toContain('/ search');
    await h.press('s');
    f = await h.waitFor('s autoscroll on');
    // turning autoscroll off leaves the view where it was (not at line 1)
    s.push(Array.from({ length: 50 }, (_, i) => `row ${i + 1}\n`).join(''));
    await h.press('s');
    await h.waitFor('row 50');
    await h.press('s');
    f = await h.waitFor('s autoscroll on');
    expect(f).toContain('row 50');
    expect(f).not.toMatch(/^row 1$/m);
    await h.press('w');
    await h.waitFor('w unwrap');
    await h.press('t');
    await h.waitFor('t hide time');
    await h.press('s', 'w', 't');
    f = await h.waitFor('s autoscroll off');
    expect(f).toContain('w wrap');
    expect(f).toContain('t timestamps');
  });

  test('f: fullscreen hides the header, breadcrumbs and hints; again, or leaving, brings them back', async () => {
    const { h, s } = await openLogs();
    s.push(Array.from({ length: 30 }, (_, i) => `line ${i + 1}\n`).join(''));
    await h.waitFor('line 30');
    expect(h.frame()).toContain('ALOFT_HOME');
    await h.press('f');
    let f = await h.waitFor((fr) => !fr.includes('ALOFT_HOME'));
    expect(f).not.toContain('logs(alpha/2)');
    expect(f.split('\n')[0]).toMatch(/^alpha\/2 · 30 lines/);
    // the log gets the rows the chrome had: more lines than before
    expect(f).toContain('line 20');
    await h.press('f');
    f = await h.waitFor('ALOFT_HOME');
    expect(f).not.toContain('line 20');
    await h.press('f');
    await h.waitFor((fr) => !fr.includes('ALOFT_HOME'));
    await h.press(KEY.esc);
    f = await h.waitFor((fr) => fr.includes('LAST JOB'));
    expect(f).toContain('ALOFT_HOME');
  });

  test('the whole log is loaded (g goes to line 1); past the buffer bound the first line says what was not kept', async () => {
    const { h, s } = await openLogs();
    expect(s.q).not.toHaveProperty('tail');
    s.push(Array.from({ length: 2000 }, (_, i) => `line ${i + 1}\n`).join(''));
    await h.waitFor('line 2000');
    await h.press('g');
    let f = await h.waitFor(/^line 1$/m);
    expect(f).toContain('2000 lines');
    expect(f).not.toContain('earlier line');
    // 12,000 lines: the buffer keeps the last LOG_CAPACITY, and says so on its first line
    s.push(Array.from({ length: 10_000 }, (_, i) => `line ${i + 2001}\n`).join(''));
    await h.press('G');
    await h.waitFor('line 12000');
    await h.press('g');
    f = await h.waitFor('earlier lines not kept');
    expect(f).toContain('… 2,000 earlier lines not kept (aloft logs alpha 2 for all)');
    expect(f).toMatch(/^line 2001$/m);
  });

  test('a failing stream is one line', async () => {
    const { h, s } = await openLogs();
    s.fail(new Error('cluster alpha is not reachable'));
    await h.waitFor('log stream failed: cluster alpha is not reachable');
  });

  test('12,000 lines in a burst: bounded and only the tail is drawn', async () => {
    const { h, s } = await openLogs({ rows: 20 });
    for (let i = 0; i < 12_000; i++) s.push(`line ${i}\n`);
    const f = await h.waitFor('line 11999');
    expect(f).toContain('10000 lines (+2000 older dropped)');
    expect(f.split('\n').length).toBeLessThanOrEqual(19);
  });

  test('the daemon going away mid-stream: started again, the stream re-opened, nothing repeated', async () => {
    let revived = 0;
    const { h, s } = await openLogs({ deps: { reviveDaemon: async () => void revived++ } });
    s.push('first\nsecond\n');
    await h.waitFor('second');
    s.fail(new DaemonUnreachable('daemon not reachable at /tmp/s (ECONNREFUSED)'));
    await h.waitFor(() => h.client.logs.length === 2);
    expect(revived).toBe(1);
    await h.waitFor('Re-attaching');
    // the new stream starts from the top of the log again: what was shown is skipped
    const again = h.client.logs[1]!;
    expect(again.q).toEqual(s.q);
    again.push('first\nsec');
    again.push('ond\nthird\n');
    const f = await h.waitFor('third');
    expect(body(f).filter((l) => l === 'first')).toHaveLength(1);
    expect(body(f).filter((l) => l === 'second')).toHaveLength(1);
    expect(f).toContain('3 lines');
  });
});

describe('logs view: search, only matches, ranks', () => {
  const feed = (push: (t: string) => void) => {
    const lines: string[] = [];
    for (let i = 1; i <= 60; i++) lines.push(i % 10 === 0 ? `step ${i} loss=0.${i} CHECKPOINT` : `step ${i} loss=0.${i}`);
    push(lines.join('\n') + '\n');
  };

  test('/ marks hits and lands on one; n / N go from hit to hit and wrap around', async () => {
    const { h, s } = await openLogs({ rows: 16 });
    feed((t) => s.push(t));
    await h.waitFor('step 60');
    await h.press('/');
    await h.type('checkpoint');
    // while typing: the hits are counted (smart case: lower case matches any case)
    let f = await h.waitFor('/checkpoint  6 matches');
    await h.press(KEY.enter);
    // following a live log, a search lands on the newest hit
    f = await h.waitFor('/checkpoint 6/6');
    expect(f).toContain('step 60 loss=0.60 CHECKPOINT');
    expect(f).toContain('autoscroll off');
    await h.press('N');
    f = await h.waitFor('/checkpoint 5/6');
    expect(f).toContain('step 50 loss=0.50 CHECKPOINT');
    await h.press('N', 'N', 'N', 'N');
    f = await h.waitFor('/checkpoint 1/6');
    expect(f).toContain('step 10 loss=0.10 CHECKPOINT');
    await h.press('N');
    f = await h.waitFor('/checkpoint 6/6');
    expect(f).toContain('search hit the top, continued from the end');
    await h.press('n');
    f = await h.waitFor('/checkpoint 1/6');
    expect(f).toContain('search hit the end, continued from the top');
    // a capital makes it exact (and ^U typed in the same chunk as / still clears the line)
    await h.burst(`/${KEY.ctrlU}`);
    await h.type('Checkpoint');
    await h.waitFor('/Checkpoint  no match');
    // esc drops the search
    await h.press(KEY.esc);
    f = await h.waitFor((fr) => !fr.includes('/Checkpoint'));
    expect(f).not.toContain('n next match');
  });

  test('F shows only the matching lines, new ones included as they arrive; F again shows all', async () => {
    const { h, s } = await openLogs({ rows: 16 });
    feed((t) => s.push(t));
    await h.waitFor('step 60');
    await h.press('/');
    await h.type('CHECKPOINT');
    await h.press(KEY.enter);
    await h.waitFor('/CHECKPOINT 6/6');
    await h.press('F');
    let f = await h.waitFor('· only matches');
    expect(body(f).filter((l) => l.startsWith('step'))).toEqual([10, 20, 30, 40, 50, 60].map((i) => `step ${i} loss=0.${i} CHECKPOINT`));
    s.push('step 61 loss=0.61\nstep 70 loss=0.70 CHECKPOINT\n');
    f = await h.waitFor('step 70 loss=0.70 CHECKPOINT');
    expect(f).not.toContain('step 61');
    await h.press('F');
    f = await h.waitFor('step 61');
    expect(f).not.toContain('· only matches');
  });

  test('0 all ranks, 1…9 one rank (1 is rank 0, the head); a rank the job does not have is one line', async () => {
    const { a, snap } = base(2);
    const h = renderTop({ snapshot: snap, rows: 16, columns: 120 });
    await h.waitFor('alpha');
    await h.press('l');
    await h.waitFor('waiting for output');
    const s = h.client.logs[0]!;
    const lines: string[] = [];
    for (let i = 1; i <= 5; i++) lines.push(`(head, rank=0, pid=10) head step ${i}`, `(worker1, rank=1, pid=11) worker step ${i}`);
    s.push(lines.join('\n') + '\n');
    let f = await h.waitFor('worker step 5');
    expect(f).toContain('1…9 one rank');
    await h.press('2');
    f = await h.waitFor('rank 1: 5 lines');
    expect(f).not.toContain('head step');
    expect(body(f).filter((l) => l.includes('worker step'))).toHaveLength(5);
    await h.press('1');
    f = await h.waitFor('rank 0 (head): 5 lines');
    expect(f).not.toContain('worker step');
    expect(f).toContain('0 all ranks');
    // a search under a rank counts only that rank's lines
    await h.press('/');
    await h.type('step 3');
    f = await h.waitFor('/step 3  1 match');
    await h.press(KEY.esc);
    await h.press('3');
    await h.waitFor('alpha/2 runs on 2 nodes: ranks 0–1');
    await h.press('0');
    f = await h.waitFor((fr) => !fr.includes('rank 0 (head)'));
    expect(f).toContain('head step 5');
    expect(f).toContain('worker step 5');
    expect(a.numNodes).toBe(2);
  });

  test('log keys are rebindable, digits included (keymap.yaml)', async () => {
    const { h, s } = await openLogs({ keymap: parseKeymap('logs.fullscreen: z\nlogs.follow: a\nlogs.rankAll: 9\nlogs.rank9: x\n') });
    s.push('hello\n');
    await h.waitFor('hello');
    expect(h.frame()).toContain('a autoscroll off');
    await h.press('z');
    await h.waitFor((fr) => !fr.includes('ALOFT_HOME'));
    await h.press('z', 'a');
    await h.waitFor('autoscroll off');
    await h.press('f', 's');
    await tick(50);
    expect(h.frame()).toContain('ALOFT_HOME');
    expect(h.frame()).toContain('autoscroll off');
  });
});

describe('text ring, index and window', () => {
  test('joins lines across chunks, keeps the last \\r frame, strips colours, expands tabs, reads ranks', () => {
    const b = new TextLog(100);
    b.append('hel');
    expect(b.length).toBe(1);
    expect(b.text(0)).toBe('hel');
    b.append('lo\nwor');
    b.append('ld\n10%\r50%\r100%\n\u001B[32mgreen\u001B[0m\na\tb\n(worker2, rank=2, pid=9) x\n');
    expect(Array.from({ length: b.length }, (_, i) => b.text(i))).toEqual(['hello', 'world', '100%', 'green', 'a       b', '(worker2, rank=2, pid=9) x']);
    expect(b.rank(5)).toBe(2);
    expect(b.rank(0)).toBe(-1);
    b.note('── end ──');
    expect(b.text(b.length - 1)).toBe('── end ──');
    expect(b.meta(b.length - 1)).toBe(true);
  });

  test('is a bounded ring: absolute numbers stay with their lines', () => {
    const b = new TextLog(1000);
    for (let i = 0; i < 50_000; i++) b.append(`line ${i}\n`);
    expect(b.length).toBe(1000);
    expect(b.text(0)).toBe('line 49000');
    expect(b.text(999)).toBe('line 49999');
    expect(b.dropped).toBe(49_000);
    expect(b.abs(0)).toBe(49_000);
  });

  test('an index tests each line once, as it arrives, and lets go of dropped lines', () => {
    const b = new TextLog(10);
    let tested = 0;
    const idx = new LineIndex((l, i) => (tested++, l.text(i).includes('7')));
    for (let i = 0; i < 30; i++) {
      b.append(`n${i}\n`);
      idx.sync(b);
    }
    expect(tested).toBe(30);
    // kept: n20..n29 → n27 only (n7, n17 were dropped)
    expect(idx.count).toBe(1);
    expect(b.text(idx.at(b, 0))).toBe('n27');
    expect(idx.rankOf(b.abs(0))).toBe(0);
  });

  test('window: follow shows the tail, wrap splits long lines, scrolling shows from the top; rows never exceed the width', () => {
    const b = new TextLog(100);
    for (let i = 0; i < 20; i++) b.append(`l${i}\n`);
    b.append('x'.repeat(25) + '\n');
    const o = { height: 4, width: 10, stamps: false };
    const texts = (w: { rows: Array<{ text: string }> }) => w.rows.map((r) => r.text);
    expect(texts(textWindow(allLines(b), { ...o, wrap: false, follow: true, top: 0 }))).toEqual(['l17', 'l18', 'l19', `${'x'.repeat(9)}…`]);
    expect(texts(textWindow(allLines(b), { ...o, wrap: true, follow: true, top: 0 }))).toEqual(['l19', 'x'.repeat(10), 'x'.repeat(10), 'xxxxx']);
    const w = textWindow(allLines(b), { ...o, wrap: false, follow: false, top: 5 });
    expect(w.top).toBe(5);
    expect(texts(w)).toEqual(['l5', 'l6', 'l7', 'l8']);
    expect(texts(textWindow(withHead(allLines(b), '… 3 older'), { ...o, wrap: false, follow: false, top: 0 }))[0]).toBe('… 3 older');
    // wide characters: cut by columns, not code units
    const cjk = TextLog.of(['漢字漢字漢字漢字', 'ok 🙂🙂🙂🙂🙂']);
    for (const wrap of [false, true]) {
      for (const r of textWindow(allLines(cjk), { ...o, wrap, follow: false, top: 0, height: 10 }).rows) expect(displayWidth(r.text)).toBeLessThanOrEqual(10);
    }
    expect(truncateColumns('漢字漢字漢字', 7)).toBe('漢字漢…');
  });

  test('window marks search hits (smart case) and the current hit; an index narrows the lines', () => {
    const b = TextLog.of(['alpha beta', 'Beta gamma', 'delta']);
    const q = query('beta')!;
    const w = textWindow(allLines(b), { height: 5, width: 40, wrap: false, follow: false, top: 0, stamps: false, query: q, current: b.abs(1) });
    expect(w.rows.map((r) => r.hits)).toEqual([[[6, 10]], [[0, 4]], []]);
    expect(w.rows.map((r) => r.current)).toEqual([false, true, false]);
    expect(lineMatches(query('Beta')!, 'alpha beta')).toBe(false);
    const idx = new LineIndex((l, i) => lineMatches(q, l.text(i))).sync(b);
    expect(textWindow(indexedLines(b, idx), { height: 5, width: 40, wrap: false, follow: false, top: 0, stamps: false }).rows.map((r) => r.text)).toEqual([
      'alpha beta',
      'Beta gamma',
    ]);
  });
});
