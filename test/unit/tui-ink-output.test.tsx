// The per-row memo over Ink's Output.get() (src/tui/render/ink-output.ts) must give exactly Ink's
// string, frame after frame, whatever is written: colours, wide characters, overlaps, lines off
// the grid, transformers. And it must actually be on with the Ink we ship.
import { afterEach, describe, expect, test } from 'vitest';
import { cleanup } from 'ink-testing-library';
import stringWidth from 'string-width';
import { inkOutputCache, installInkOutputCache, makeMemoGet, plainRow } from '../../src/tui/render/ink-output.js';
import { NARROW_CLASS } from '../../src/tui/render/width.js';
import { cluster, ev, renderTop, snapshot } from '../helpers/tui-harness.js';

afterEach(() => cleanup());

/** Small deterministic PRNG so a failure reproduces. */
function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
}

const PIECES = ['a', 'bc', ' ', '  ', 'UP', '漢字', '▸ ', '…', '🙂', 'x'.repeat(30), '\u001B[32m', '\u001B[39m', '\u001B[1m', '\u001B[22m', '\u001B[7m', '\u001B[27m', '\u001B[2m', ' · ', '──', '⠋', 'é', '\u00AD', 'é'];

describe('Ink output row memo', () => {
  test('every character the plain fast path takes as one column is one column for string-width', () => {
    const one = new RegExp(`^[${NARROW_CLASS}]$`);
    let n = 0;
    for (let cp = 0x20; cp <= 0xffff; cp++) {
      const c = String.fromCharCode(cp);
      if (!one.test(c)) continue;
      n++;
      expect(stringWidth(c), `U+${cp.toString(16)}`).toBe(1);
    }
    expect(n).toBeGreaterThan(700);
    // a soft hyphen (width 0) and a combining accent are not in it
    expect(one.test('\u00AD')).toBe(false);
    expect(one.test('\u0301')).toBe(false);
  });

  test('plain rows (one column a character) are laid out as Ink would, without Ink', async () => {
    const c = await installInkOutputCache();
    const r = rng(7);
    const chars = 'ab ·…─⠋é→█x';
    for (let i = 0; i < 500; i++) {
      const width = 5 + Math.floor(r() * 30);
      const writes: Array<number | string> = [];
      for (let k = 0, n = 1 + Math.floor(r() * 3); k < n; k++) {
        writes.push(Math.floor(r() * (width + 6)) - 3, Array.from({ length: Math.floor(r() * 40) }, () => chars[Math.floor(r() * chars.length)]).join(''));
      }
      const o = new c.Output!({ width, height: 1 });
      for (let k = 0; k < writes.length; k += 2) o.write(writes[k] as number, 0, writes[k + 1] as string, { transformers: [] });
      expect(plainRow(width, writes), JSON.stringify(writes)).toBe(c.original!.call(o).output);
    }
  });

  test('is installed over the Ink in node_modules', async () => {
    const c = await installInkOutputCache();
    expect(c.disabled).toBeUndefined();
    expect(c.Output!.prototype.get).not.toBe(c.original);
  });

  test('gives the same string as Ink for random frames, reusing rows across frames', async () => {
    const c = await installInkOutputCache();
    const Output = c.Output!;
    const stats = { built: 0, plain: 0, reused: 0, frames: 0 };
    const memo = makeMemoGet(Output, c.original!, stats);
    const r = rng(42);
    const pick = <T,>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
    const width = 40;
    const height = 12;
    // A base frame mutated a little each time, like a dashboard: most rows repeat.
    type W = { x: number; y: number; text: string; t: boolean };
    const line = () => Array.from({ length: 1 + Math.floor(r() * 6) }, () => pick(PIECES)).join('');
    const randomWrite = (): W => ({
      x: Math.floor(r() * (width + 4)) - 2,
      y: Math.floor(r() * (height + 4)) - 2,
      text: Array.from({ length: 1 + Math.floor(r() * 3) }, line).join('\n'),
      t: r() < 0.3,
    });
    let writes: W[] = Array.from({ length: 15 }, randomWrite);
    const upper = (s: string, i: number) => (i % 2 ? s.toUpperCase() : `[${s}]`);
    for (let frame = 0; frame < 300; frame++) {
      if (frame > 0) {
        const i = Math.floor(r() * writes.length);
        if (r() < 0.7) writes[i] = randomWrite();
        else writes = r() < 0.5 ? writes.slice(1) : [...writes, randomWrite()];
      }
      const mk = () => {
        const o = new Output({ width, height });
        for (const w of writes) o.write(w.x, w.y, w.text, { transformers: w.t ? [upper] : [] });
        return o;
      };
      expect(memo.call(mk())).toEqual(c.original!.call(mk()));
    }
    expect(stats.reused).toBeGreaterThan(stats.built + stats.plain);
  });

  test('frames with clipping go through Ink unchanged', async () => {
    const c = await installInkOutputCache();
    const Output = c.Output!;
    const stats = { built: 0, plain: 0, reused: 0, frames: 0 };
    const memo = makeMemoGet(Output, c.original!, stats);
    const mk = () => {
      const o = new Output({ width: 10, height: 3 }) as InstanceType<typeof Output> & { clip(c: object): void; unclip(): void };
      o.clip({ x1: 2, x2: 6, y1: 0, y2: 2 });
      o.write(0, 0, 'hello world\nsecond line\nthird', { transformers: [] });
      o.unclip();
      return o;
    };
    expect(memo.call(mk())).toEqual(c.original!.call(mk()));
    expect(stats.frames).toBe(0);
  });

  test('the dashboard reuses unchanged rows when one cluster changes', async () => {
    // no ages (they tick every second) and a status no wider than STATUS: one row and the header change
    const clusters = Array.from({ length: 30 }, (_, i) => cluster(`c${String(i).padStart(2, '0')}`, { launchedAt: 0 }));
    const h = renderTop({ snapshot: snapshot({ clusters }) });
    await h.waitFor((f) => f.includes('c20'));
    const before = { ...inkOutputCache.stats };
    h.feed.event(ev({ kind: 'cluster', cluster: { ...clusters[3]!, status: 'INIT' } }));
    await h.waitFor((f) => /c03.*INIT/.test(f));
    // built by Ink or laid out directly (plain rows, no colour in this test)
    const built = inkOutputCache.stats.built - before.built + inkOutputCache.stats.plain - before.plain;
    const reused = inkOutputCache.stats.reused - before.reused;
    expect(built).toBeGreaterThan(0);
    expect(built).toBeLessThanOrEqual(4);
    expect(reused).toBeGreaterThan(20);
  });
});
